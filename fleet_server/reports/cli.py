"""``fleet-server report ...``: the annual report (Điều 14) and the
inspection archive (Điều 9.1) from the command line.

Settings come from the environment as for every role (FLEET_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _connect() -> Any:
    from fleet_server.cli import _settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415

    return connect(_settings().database_url, autocommit=True, application_name="fleet-report")


def cmd_annual(args: argparse.Namespace) -> int:
    from fleet_server.reports import annual, figures  # noqa: PLC0415
    from fleet_server.reports.progress import ProgressBar  # noqa: PLC0415

    org = None if args.province else args.org
    out = Path(args.out or f"bao-cao-nam-{args.year}-{org or 'toan-tinh'}.docx")
    progress = ProgressBar(7)
    with _connect() as conn:
        try:
            fig = figures.collect(conn, args.year, org, now=datetime.now(UTC), progress=progress)
        except LookupError as exc:
            print(f"fleet-server: {exc}", file=sys.stderr)
            return 1
    progress("docx")
    annual.write(fig, out)
    progress.finish()
    print(out)
    return 0


def add_parser(sub: Any) -> None:
    report = sub.add_parser("report", help="reports: annual (Điều 14), inspection archive")
    report_sub = report.add_subparsers(dest="report_command", required=True)
    p = report_sub.add_parser(
        "annual", help="the annual report as DOCX (period 15 Dec of the previous year – 14 Dec)"
    )
    p.add_argument("--year", type=int, required=True)
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--org", help="organisation code (its own report)")
    who.add_argument("--province", action="store_true", help="the consolidated report for Sở TT&TT")
    p.add_argument("--out", help="output .docx (default bao-cao-nam-<year>-<org>.docx)")
    p.set_defaults(func=cmd_annual)
