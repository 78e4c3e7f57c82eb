"""``edge-agent``: run the agent, check the collectors, inspect the spool."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edge_agent.config import DEFAULT_PATH, AgentConfig, load_config
from edge_agent.errors import AgentError, CollectorError, NotPresent
from edge_agent.kill_switch import Halt, HaltStore
from edge_agent.stop_signal import stop_event


def _config(args: argparse.Namespace, **overrides: Any) -> AgentConfig:
    path: Path | None = args.config
    if path is None:
        env = os.environ.get("FLEET_AGENT_CONFIG")
        path = Path(env) if env else DEFAULT_PATH
        if not path.exists() and args.command == "check":
            path = None  # check works on a bare machine
    if args.command == "check" and "FLEET_AGENT_DEVICE_ID" not in os.environ and path is None:
        overrides.setdefault("device_id", "check")
    if getattr(args, "simulate", False):
        overrides["simulate"] = True
    return load_config(path, **overrides)


def cmd_run(args: argparse.Namespace) -> int:
    from edge_agent.agent import Agent  # noqa: PLC0415 - keeps `check` light
    from edge_agent.simulation import SimulatedBoard  # noqa: PLC0415

    config = _config(args)
    logging.getLogger().setLevel(config.log_level)
    sim = None
    if config.simulate:
        sim = SimulatedBoard(cameras={c.id: True for c in config.cameras} or {"cam1": True})
    agent = Agent(config, sim=sim)
    # SIGTERM/SIGINT: the handler never sets an event itself (edge_agent.stop_signal)
    agent.run(stop_event(agent.wake))
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from edge_agent.collectors import build_collectors  # noqa: PLC0415
    from edge_agent.proof import Proof  # noqa: PLC0415
    from edge_agent.simulation import SimulatedBoard  # noqa: PLC0415

    config = _config(args)
    sim = SimulatedBoard() if config.simulate else None
    proof = None if sim else Proof(lambda: config)  # a picture of the screen and each camera
    failed = 0
    rows: list[tuple[str, str, str, str]] = []
    for kind, collector in build_collectors(config, sim, proof).items():
        try:
            data = collector.collect()
        except NotPresent as exc:
            rows.append((kind.value, collector.backend, "not present", str(exc)))
            continue
        except CollectorError as exc:
            failed += 1
            rows.append((kind.value, collector.backend, "FAILED", str(exc)))
            continue
        finally:
            collector.close()
        summary = json.dumps(data.model_dump(mode="json", exclude_none=True), ensure_ascii=False)
        rows.append((kind.value, collector.backend, "ok", summary))
    order = HaltStore(config.halt_path).load()  # the kill switch: why a screen is dark
    rows.append(
        ("kill switch", str(config.halt_path), order.mode if order else "none", _order(order))
    )
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(row[i].ljust(widths[i]) for i in range(3)) + "  " + row[3])
    return 1 if failed else 0


def _order(order: Halt | None) -> str:
    if order is None:
        return "no order in force"
    return f"halted by order since {order.since or '?'}: {order.reason} (send resume to end it)"


def cmd_spool_stats(args: argparse.Namespace) -> int:
    from edge_agent.spool import Spool  # noqa: PLC0415

    config = _config(args)
    spool = Spool(config.spool_path)
    try:
        stats = spool.stats()
    finally:
        spool.close()
    print(
        json.dumps(
            {
                "path": str(config.spool_path),
                "pending": stats.pending,
                "pending_bytes": stats.pending_bytes,
                "oldest_age_s": stats.oldest_age_s,
                "dropped_total": stats.dropped_total,
                "boot": stats.boot,
                "file_bytes": stats.file_bytes,
            },
            indent=2,
        )
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edge-agent", description="Edge agent of a public information board."
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help=f"TOML file (default $FLEET_AGENT_CONFIG or {DEFAULT_PATH})",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the agent")
    run.add_argument("--simulate", action="store_true", help="simulated collectors")
    run.set_defaults(func=cmd_run)
    check = sub.add_parser("check", help="run every collector once and print the readings")
    check.add_argument("--simulate", action="store_true")
    check.set_defaults(func=cmd_check)
    spool = sub.add_parser("spool", help="spool commands")
    spool_sub = spool.add_subparsers(dest="spool_command", required=True)
    stats = spool_sub.add_parser("stats", help="what waits in the spool")
    stats.set_defaults(func=cmd_spool_stats)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.func(args))
    except AgentError as exc:
        print(f"edge-agent: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
