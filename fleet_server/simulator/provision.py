"""Simulated boards for a production-like stack (docker-compose's ``simulator``
profile, docs/deployment.md): the simulated inventory (organisations, sites,
broadcast windows, boards) written into the database, a broker account and a
password for each board through the provisioning service, and each board's
files in ``OUT/<board id>/`` — an ``agent.toml`` that real edge agents run
with simulated collectors (``edge-agent --config OUT/<id>/agent.toml run``).

Idempotent: a board that already has an account and its files is left alone
(its agent may be running with that password); the others get new
credentials. Run it as ``python -m fleet_server.simulator.provision``, with
the same ``FLEET_*`` settings as ``fleet-server boards``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from fleet_server.errors import FleetError

log = logging.getLogger(__name__)

ACTOR = "system:simulator"
AGENT_TOML = "agent.toml"


def simulation_settings(board_dir: Path, cameras: Sequence[str]) -> str:
    """What turns a provisioned board's ``agent.toml`` into a simulated one:
    simulated collectors, a spool beside it, its cameras (addresses from the
    documentation range: the simulation never dials them)."""
    lines = [
        "",
        "# Simulated board (fleet_server.simulator.provision): no hardware is read.",
        "simulate = true",
        f"spool_path = {json.dumps(str(board_dir / 'spool.db'))}",
    ]
    for number, camera in enumerate(cameras, start=1):
        lines += ["", "[[cameras]]", f"id = {json.dumps(camera)}", f'host = "192.0.2.{number}"']
    return "\n".join(lines) + "\n"


def provision_simulated_boards(conn: Any, service: Any, count: int, out: Path) -> list[str]:
    """Seed ``count`` simulated boards and give each an account and its files
    under ``out``; return one line per board saying what happened."""
    from fleet_server.access.principal import Actor  # noqa: PLC0415
    from fleet_server.simulator.seed import fleet_specs, seed  # noqa: PLC0415

    inventory = fleet_specs(count)
    seed(conn, inventory)
    report = []
    for _place, spec in inventory:
        target = out / spec.device_id
        row = conn.execute("SELECT auth FROM boards WHERE id = %s", (spec.device_id,)).fetchone()
        if row is not None and row[0] and (target / AGENT_TOML).exists():
            report.append(f"{spec.device_id}: kept (account and files exist)")
            continue
        done = service.rotate_credentials(
            conn,
            spec.device_id,
            Actor(ACTOR),
            auth="password",
            board_dir=PurePosixPath(str(target)),
        )
        done.bundle.write(target)
        with (target / AGENT_TOML).open("a", encoding="utf-8") as fh:
            fh.write(simulation_settings(target, spec.cameras))
        report.append(f"{spec.device_id}: provisioned at {spec.site} -> {target}/")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m fleet_server.simulator.provision",
        description="Simulated boards with real broker accounts, for a production-like stack.",
    )
    parser.add_argument("--boards", type=int, default=6, help="how many (default 6)")
    parser.add_argument("--out", type=Path, required=True, help="one directory per board here")
    args = parser.parse_args(argv)
    logging.basicConfig(level="WARNING", format="%(levelname)s %(name)s: %(message)s")
    if not 1 <= args.boards <= 500:
        parser.error("--boards must be between 1 and 500 (each is an agent process)")
    from pydantic import ValidationError  # noqa: PLC0415

    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415
    from fleet_server.provisioning import (  # noqa: PLC0415
        ProvisioningBackend,
        ProvisioningError,
        ProvisioningService,
    )

    try:
        settings = load_settings()
        service = ProvisioningService(ProvisioningBackend.from_settings(settings))
        with connect(settings.database_url, autocommit=True, application_name="fleet-sim") as conn:
            lines = provision_simulated_boards(conn, service, args.boards, args.out)
    except ValidationError as exc:
        print(f"simulator: bad setting: {exc}", file=sys.stderr)
        return 2
    except ProvisioningError as exc:
        print(f"simulator: {exc.reason}: {exc.detail}", file=sys.stderr)
        return 1
    except FleetError as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        print(line)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
