"""``fleet-server`` command line: one entry point, one subcommand per role."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from pydantic import ValidationError

from fleet_server.errors import FleetError
from fleet_server.settings import Settings

log = logging.getLogger("fleet_server")


def _settings() -> Settings:
    settings = Settings()
    settings.check_production()
    return settings


def _stop_event() -> threading.Event:
    stop = threading.Event()

    def handler(signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop


def cmd_migrate(_args: argparse.Namespace) -> int:
    from fleet_server.db.migrate import migrate  # noqa: PLC0415 - keep start-up light

    applied = migrate(_settings().database_url)
    print("applied: " + ", ".join(applied) if applied else "database is up to date")
    return 0


def cmd_ingest(_args: argparse.Namespace) -> int:
    from fleet_server.ingest.service import IngestService  # noqa: PLC0415

    service = IngestService(_settings())
    service.run_forever(_stop_event())
    print(json.dumps(service.stats.snapshot()))
    return 1 if service.consumer.fatal else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fleet-server",
        description="Fleet server for Lai Chau's public electronic information boards.",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    commands: dict[str, tuple[str, Callable[[argparse.Namespace], int]]] = {
        "migrate": ("apply database migrations (safe to run twice)", cmd_migrate),
        "ingest": ("consume board messages from MQTT into PostgreSQL", cmd_ingest),
    }
    for name, (help_text, func) in commands.items():
        p = sub.add_parser(name, help=help_text)
        p.set_defaults(func=func)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args))
    except ValidationError as exc:
        print(f"fleet-server: bad setting: {exc}", file=sys.stderr)
        return 2
    except FleetError as exc:
        print(f"fleet-server: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
