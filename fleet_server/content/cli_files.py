"""``fleet-server content files ...``: the broadcast file archive (Điều 9.1)
from the command line — keep a file, fetch one, check them all against their
hashes, run the retention (or see what it would remove), and the archive's
size.

Settings come from the environment as for every role (FLEET_DATABASE_URL,
FLEET_DATA_DIR, FLEET_CONTENT_FILES_*). Uploads and removals are audited as
``system:cli:<OS user>``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _setup() -> tuple[Any, Any, Any]:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.content.service_files import store_from_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415

    settings = load_settings()
    conn = connect(settings.database_url, autocommit=True, application_name="fleet-content")
    return settings, conn, store_from_settings(settings)


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def cmd_put(args: argparse.Namespace) -> int:
    from fleet_server.cli_support import cli_actor  # noqa: PLC0415
    from fleet_server.content.service_files import store_upload  # noqa: PLC0415
    from fleet_server.errors import RequestError  # noqa: PLC0415

    _settings, conn, store = _setup()
    try:
        with conn, args.file.open("rb") as stream:
            stored = store_upload(
                conn,
                store,
                stream,
                filename=args.file.name,
                media_type=args.media_type,
                actor=cli_actor(),
            )
    except OSError as exc:
        print(f"fleet-server: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except RequestError as exc:
        print(f"fleet-server: {exc.detail}", file=sys.stderr)
        return 1
    state = "stored" if stored.created else "already in the archive"
    print(f"{state}: {stored.sha256} {_size(stored.size_bytes)} {stored.media_type}")
    return 0


def cmd_get(args: argparse.Namespace) -> int:
    from fleet_server.content.files import sha256_of_chunks  # noqa: PLC0415
    from fleet_server.content.service_files import read_file  # noqa: PLC0415
    from fleet_server.errors import RequestError  # noqa: PLC0415
    from fleet_server.private_files import open_private  # noqa: PLC0415

    _settings, conn, store = _setup()
    try:
        with conn:
            found, chunks = read_file(conn, store, args.sha256)
        out = Path(args.out or found.filename)

        def copied() -> Any:
            with open_private(out, "wb") as target:
                for chunk in chunks:
                    target.write(chunk)
                    yield chunk

        actual, _n = sha256_of_chunks(copied())
    except RequestError as exc:
        print(f"fleet-server: {exc.detail}", file=sys.stderr)
        return 1
    if actual != found.sha256:
        print(f"fleet-server: {out}: the stored file no longer matches its hash", file=sys.stderr)
        return 1
    print(out)
    return 0


def cmd_retention(args: argparse.Namespace) -> int:
    from fleet_server.content.service_files import apply_file_retention  # noqa: PLC0415
    from fleet_server.errors import RequestError  # noqa: PLC0415

    settings, conn, store = _setup()
    try:
        with conn:
            result = apply_file_retention(
                conn,
                store,
                datetime.now(UTC),
                settings.content_files_keep_days,
                dry_run=args.dry_run,
            )
    except RequestError as exc:
        print(f"fleet-server: {exc.detail}", file=sys.stderr)
        return 1
    verb = "would remove" if args.dry_run else "removed"
    for f in result.deleted:
        print(f"{f.sha256} {_size(f.size_bytes)} {f.filename}")
    print(
        f"{verb} {len(result.deleted)} files ({_size(result.bytes_freed)}) not needed since"
        f" {result.cutoff.date().isoformat()}"
    )
    return 0


def cmd_verify(_args: argparse.Namespace) -> int:
    from fleet_server.content.service_files import verify_files  # noqa: PLC0415
    from fleet_server.errors import RequestError  # noqa: PLC0415

    _settings, conn, store = _setup()
    problems = 0
    try:
        with conn:
            for problem in verify_files(conn, store):
                print(problem)
                problems += 1
    except RequestError as exc:
        print(f"fleet-server: {exc.detail}", file=sys.stderr)
        return 2
    if problems:
        return 1
    print("khớp / intact: every archived file matches its hash")
    return 0


def cmd_stats(_args: argparse.Namespace) -> int:
    from fleet_server.content.storage_files import totals  # noqa: PLC0415

    settings, conn, _store = _setup()
    with conn:
        count, size = totals(conn)
    print(f"{count} files, {_size(size)} ({settings.content_files_backend})")
    return 0


def add_parsers(content_sub: Any) -> None:
    """Add ``content files put|get|retention|stats``."""
    files = content_sub.add_parser("files", help="the broadcast file archive (Điều 9.1)")
    files_sub = files.add_subparsers(dest="files_command", required=True)
    put = files_sub.add_parser("put", help="keep a file in the archive (by its SHA-256)")
    put.add_argument("file", type=Path)
    put.add_argument("--media-type", default=None, help="e.g. video/mp4")
    put.set_defaults(func=cmd_put)
    get = files_sub.add_parser("get", help="copy an archived file out, its hash checked")
    get.add_argument("sha256")
    get.add_argument("--out", default=None, help="default: the name it was uploaded under")
    get.set_defaults(func=cmd_get)
    retention = files_sub.add_parser(
        "retention", help="remove the files nothing needs any more (FLEET_CONTENT_FILES_KEEP_DAYS)"
    )
    retention.add_argument("--dry-run", action="store_true", help="only list them")
    retention.set_defaults(func=cmd_retention)
    verify = files_sub.add_parser(
        "verify", help="read every archived file back and check it against its hash"
    )
    verify.set_defaults(func=cmd_verify)
    stats = files_sub.add_parser("stats", help="files stored and their size")
    stats.set_defaults(func=cmd_stats)
