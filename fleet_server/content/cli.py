"""``fleet-server content ...``: the approved content registry from the
command line (add, list, retire, import).

Settings come from the environment as for every role (FLEET_DATABASE_URL).
Changes are audited, and items approved, as ``system:cli:<OS user>``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _actor() -> Any:
    from fleet_server.access.principal import Actor  # noqa: PLC0415
    from fleet_server.cli_support import cli_actor  # noqa: PLC0415

    return Actor(cli_actor())


def _connect() -> Any:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415

    return connect(load_settings().database_url, autocommit=True, application_name="fleet-content")


def _failed(exc: Any) -> int:
    print(f"fleet-server: {exc.reason}: {exc.detail}", file=sys.stderr)
    return 1


def _local(value: datetime | None) -> str:
    from fleet_server.localtime import LOCAL_TZ  # noqa: PLC0415

    return "–" if value is None else value.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def _describe(item: Any) -> str:
    until = f" until {_local(item.valid_to)}" if item.valid_to else ", no end"
    return (
        f"content {item.id}: {item.title!r} ({item.kind}, {item.language}) {item.sha256},"
        f" valid from {_local(item.valid_from)}{until}"
    )


def cmd_add(args: argparse.Namespace) -> int:
    from fleet_server.content import service  # noqa: PLC0415
    from fleet_server.content.models import (  # noqa: PLC0415
        ContentError,
        NewContent,
        file_sha256,
        parse_when,
    )

    now = datetime.now(UTC)
    try:
        if args.file is not None:
            try:
                sha256 = file_sha256(args.file)
            except OSError as exc:
                print(f"fleet-server: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
                return 2
        else:
            sha256 = args.sha256
        item = NewContent(
            title=args.title,
            kind=args.kind,
            language=args.language,
            sha256=sha256,
            valid_from=parse_when("valid_from", args.valid_from) if args.valid_from else now,
            valid_to=parse_when("valid_to", args.valid_to) if args.valid_to else None,
            from_department=args.from_department,
        )
        with _connect() as conn:
            stored = service.approve(conn, item, _actor(), now)
    except ContentError as exc:
        return _failed(exc)
    print(f"approved {_describe(stored)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from fleet_server.content import storage  # noqa: PLC0415
    from fleet_server.content.models import ContentError, parse_when  # noqa: PLC0415

    try:
        valid_at = parse_when("valid_at", args.valid_at) if args.valid_at else None
    except ContentError as exc:
        return _failed(exc)
    if args.current:
        valid_at = datetime.now(UTC)
    filters = storage.Filters(
        kind=args.kind,
        language=args.language,
        valid_at=valid_at,
        from_department=args.from_department,
        q=args.q,
    )
    with _connect() as conn:
        rows = storage.items(conn, filters, args.limit)
    print(
        f"{'id':>5}  {'kind':<11} {'lang':<5} {'valid from':<16}  {'valid to':<16}"
        "  dept played sha256 / title"
    )
    for item, played in rows:
        print(
            f"{item.id:>5}  {item.kind:<11} {item.language:<5} {_local(item.valid_from):<16}"
            f"  {_local(item.valid_to):<16}  {'yes' if item.from_department else 'no':<4}"
            f" {'yes' if played else 'no':<6} {item.sha256}"
        )
        print(f"{'':>5}  {item.title}")
    print(f"{len(rows)} item(s){' (limit reached)' if len(rows) == args.limit else ''}")
    return 0


def cmd_retire(args: argparse.Namespace) -> int:
    from fleet_server.content import service, storage  # noqa: PLC0415
    from fleet_server.content.models import (  # noqa: PLC0415
        ContentError,
        normalise_sha256,
        parse_when,
    )

    try:
        at = parse_when("at", args.at) if args.at else datetime.now(UTC)
        with _connect() as conn:
            key = args.item.strip()
            if key.isdigit():
                content_id = int(key)
            else:
                found = storage.by_sha256(conn, normalise_sha256(key))
                if found is None:
                    raise ContentError("not_found", f"no content with sha256 {key[:64]!r}")
                content_id = found.id
            stored = service.retire(conn, content_id, _actor(), at)
    except ContentError as exc:
        return _failed(exc)
    print(f"retired {_describe(stored)}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from fleet_server.content.csvimport import import_content  # noqa: PLC0415
    from fleet_server.content.models import ContentError  # noqa: PLC0415

    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        print(f"fleet-server: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2

    def report(row: Any) -> None:
        what = row.sha256 or "?"
        if not row.ok:
            print(f"line {row.row}: {what}: FAILED {row.reason}: {row.detail}")
        elif row.approved is not None:
            print(f"line {row.row}: {what}: approved as content {row.approved.id}")
        else:
            print(f"line {row.row}: {what}: ok, not approved (other rows failed)")

    try:
        with _connect() as conn:
            result = import_content(
                conn, text, _actor(), datetime.now(UTC), source=str(args.file), on_row=report
            )
    except ContentError as exc:
        print(f"fleet-server: {args.file}: {exc.detail}", file=sys.stderr)
        return 2
    print(f"{args.file}: {result.summary()}")
    return 1 if result.failed else 0


def cmd_overdue(args: argparse.Namespace) -> int:
    """The supplying units whose last period due ended short (Điều 10.1.b, c)."""
    from fleet_server.content.service_suppliers import overdue  # noqa: PLC0415

    with _connect() as conn:
        found = overdue(conn, datetime.now(UTC))
    for o in found:
        print(
            f"{o.supplier_name}: {o.period} ({o.article}) due {o.due:%d/%m/%Y},"
            f" {o.submitted} of {o.required} received"
        )
    print(f"{len(found)} unit(s) overdue")
    return 1 if found and args.check else 0


def add_parser(sub: Any) -> None:
    """Add ``content add|list|retire|import``."""
    from fleet_server.content.models import KINDS, LANGUAGES  # noqa: PLC0415

    content = sub.add_parser("content", help="the approved content registry (Điều 9.3)")
    content_sub = content.add_subparsers(dest="content_command", required=True)
    when = "YYYY-MM-DD (local midnight), YYYY-MM-DDTHH:MM (local) or ISO 8601 with offset"

    add = content_sub.add_parser("add", help="approve one file")
    add.add_argument("--title", required=True)
    add.add_argument("--kind", required=True, choices=KINDS)
    add.add_argument("--language", required=True, choices=list(LANGUAGES))
    source = add.add_mutually_exclusive_group(required=True)
    source.add_argument("--sha256", help="the file's SHA-256 (64 hex digits)")
    source.add_argument("--file", type=Path, help="compute the SHA-256 of this file")
    add.add_argument("--valid-from", default=None, help=f"{when}; default now")
    add.add_argument("--valid-to", default=None, help=f"{when}; default no end")
    add.add_argument(
        "--from-department",
        action="store_true",
        help="supplied by the provincial Department of Information and Communications",
    )
    add.set_defaults(func=cmd_add)

    listing = content_sub.add_parser("list", help="the registry, newest approval first")
    listing.add_argument("--kind", choices=KINDS, default=None)
    listing.add_argument("--language", default=None)
    listing.add_argument("--valid-at", default=None, help=f"valid at this time ({when})")
    listing.add_argument("--current", action="store_true", help="valid now")
    department = listing.add_mutually_exclusive_group()
    department.add_argument(
        "--from-department", dest="from_department", action="store_const", const=True
    )
    department.add_argument(
        "--not-from-department", dest="from_department", action="store_const", const=False
    )
    listing.add_argument("--q", default=None, help="title contains, or the hash starts with")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(func=cmd_list, from_department=None)

    retire = content_sub.add_parser("retire", help="end an item's validity (the row is kept)")
    retire.add_argument("item", help="the item's id or SHA-256")
    retire.add_argument("--at", default=None, help=f"{when}; default now")
    retire.set_defaults(func=cmd_retire)

    bulk = content_sub.add_parser(
        "import",
        help="approve the files of a CSV sheet, all or none, with a report per row",
        description="Columns: title,kind,language,sha256,valid_from (required),"
        " valid_to,from_department. Every row is checked first; with any bad row nothing"
        " is approved. Exit status 1 when a row failed.",
    )
    bulk.add_argument("file", type=Path)
    bulk.set_defaults(func=cmd_import)

    late = content_sub.add_parser(
        "overdue", help="supplying units whose last period ended short (Điều 10.1.b, 10.1.c)"
    )
    late.add_argument("--check", action="store_true", help="exit status 1 when any is overdue")
    late.set_defaults(func=cmd_overdue)

    from fleet_server.content.cli_files import add_parsers  # noqa: PLC0415

    add_parsers(content_sub)
