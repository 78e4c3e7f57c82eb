"""``fleet-server backup`` and ``fleet-server restore`` (docs/backup.md)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cmd_backup(args: argparse.Namespace) -> int:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.backup import backup  # noqa: PLC0415

    url = args.database_url or load_settings().database_url
    done = backup(url, Path(args.out), force=args.force)
    print(json.dumps({"file": str(done.path), "bytes": done.bytes, "sha256": done.sha256}))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.backup import restore  # noqa: PLC0415

    settings = load_settings()
    # Restoring creates tables: the schema owner's work when there is one.
    url = args.database_url or settings.database_owner_url or settings.database_url
    done = restore(Path(args.file), url, force=args.force)
    print(
        json.dumps({"database": done.database, "tables": done.tables, "migration": done.migration})
    )
    return 0


def add_parser(sub: Any) -> None:
    """Add ``backup`` and ``restore``."""
    p = sub.add_parser("backup", help="dump the database (pg_dump custom format) into a file")
    p.add_argument("--out", required=True, help="the backup file to write")
    p.add_argument("--database-url", default=None, help="default FLEET_DATABASE_URL")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(func=cmd_backup)
    p = sub.add_parser(
        "restore",
        help="restore a backup into an empty database (pg_restore)",
        description="The target database must exist and be empty; --force drops and"
        " recreates the objects the backup contains (others are left alone).",
    )
    p.add_argument("file", help="a file made by fleet-server backup")
    p.add_argument(
        "--database-url",
        default=None,
        help="the target; default FLEET_DATABASE_OWNER_URL, else FLEET_DATABASE_URL",
    )
    p.add_argument("--force", action="store_true", help="restore into a database that is not empty")
    p.set_defaults(func=cmd_restore)
