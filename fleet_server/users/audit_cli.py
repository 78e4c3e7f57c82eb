"""``fleet-server audit verify``: walk the audit log's hash chain."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def cmd_verify(args: argparse.Namespace) -> int:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415
    from fleet_server.users.audit_chain import verify  # noqa: PLC0415

    url = args.database_url or load_settings().database_url
    with connect(url, application_name="fleet-audit-verify") as conn:
        report = verify(conn)
    summary: dict[str, Any] = {
        "rows": report.rows,
        "head_id": report.head_id,
        "head_hash": report.head_hash,
        "intact": report.intact,
    }
    if report.broken is not None:
        broken = report.broken
        summary["broken"] = {
            "row_id": broken.row_id,
            "chain_seq": broken.chain_seq,
            "problem": broken.problem,
            "expected": broken.expected,
            "found": broken.found,
        }
        print(json.dumps(summary))
        print(f"fleet-server: audit chain broken at {broken.describe()}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


def add_parser(sub: Any) -> None:
    """Add ``audit verify``."""
    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    p = audit_sub.add_parser(
        "verify",
        help="check the audit log's hash chain; exit 1 at the first broken link",
    )
    p.add_argument("--database-url", default=None, help="default FLEET_DATABASE_URL")
    p.set_defaults(func=cmd_verify)
