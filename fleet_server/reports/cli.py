"""``fleet-server report ...``: the annual report (Điều 14.1), an ad hoc
report over any period (Điều 14.3) and the inspection archive (Điều 9.1)
from the command line.

Settings come from the environment as for every role (FLEET_DATABASE_URL).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any


def _connect() -> Any:
    from fleet_server.cli_support import load_settings  # noqa: PLC0415
    from fleet_server.db.connect import connect  # noqa: PLC0415

    settings = load_settings()
    return connect(
        settings.database_url, autocommit=True, application_name="fleet-report", jit=settings.db_jit
    )


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


def cmd_period(args: argparse.Namespace) -> int:
    """An ad hoc report (Điều 14.3) in the annual report's outline."""
    from fleet_server.errors import Invalid  # noqa: PLC0415
    from fleet_server.reports import annual, figures  # noqa: PLC0415
    from fleet_server.reports.progress import ProgressBar  # noqa: PLC0415
    from fleet_server.reports.service import check_period  # noqa: PLC0415

    now = datetime.now(UTC)
    try:
        check_period(args.first, args.last, now)
    except Invalid as exc:
        print(f"fleet-server: {exc.detail}", file=sys.stderr)
        return 2
    org = None if args.province else args.org
    stem = f"bao-cao-dot-xuat-{args.first}-{args.last}-{org or 'toan-tinh'}"
    out = Path(args.out or f"{stem}.docx")
    progress = ProgressBar(7)
    with _connect() as conn:
        try:
            fig = figures.collect_period(
                conn, args.first, args.last, org, now=now, progress=progress
            )
        except LookupError as exc:
            print(f"fleet-server: {exc}", file=sys.stderr)
            return 1
    progress("docx")
    annual.write(fig, out)
    progress.finish()
    print(out)
    return 0


def _day(text: str) -> date:
    """A local day written YYYY-MM-DD."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a day: write YYYY-MM-DD, e.g. 2026-06-30"
        ) from None


def cmd_archive(args: argparse.Namespace) -> int:
    from fleet_server.cli_support import cli_actor  # noqa: PLC0415
    from fleet_server.reports import archive  # noqa: PLC0415
    from fleet_server.reports.figures import Period  # noqa: PLC0415

    scope = archive.Scope(board=args.board, site=args.site, organisation=args.org)
    store = None
    if args.with_files:
        from fleet_server.content.service_files import store_from_settings  # noqa: PLC0415
        from fleet_server.settings import Settings  # noqa: PLC0415

        store = store_from_settings(Settings())
    out = Path(args.out or f"luu-tru-{scope.label}-{args.first}-{args.last}")
    with _connect() as conn:
        try:
            files = archive.write(
                conn,
                scope,
                Period.days(args.first, args.last),
                out,
                generated_by=cli_actor(),
                now=datetime.now(UTC),
                copy_files=store,
                pictures=args.with_pictures,
            )
        except archive.ArchiveError as exc:
            print(f"fleet-server: {exc}", file=sys.stderr)
            return 1
    for path in files:
        print(path)
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from fleet_server.reports import archive  # noqa: PLC0415

    try:
        problems = archive.verify(Path(args.directory))
    except (OSError, ValueError, KeyError) as exc:
        print(f"fleet-server: cannot read the manifest: {exc}", file=sys.stderr)
        return 2
    for problem in problems:
        print(problem)
    if problems:
        return 1
    print("khớp / intact: every file matches the manifest")
    return 0


def cmd_availability(args: argparse.Namespace) -> int:
    from fleet_server.availability import storage  # noqa: PLC0415
    from fleet_server.availability.period import month  # noqa: PLC0415
    from fleet_server.cli_support import cli_actor  # noqa: PLC0415
    from fleet_server.reports import availability  # noqa: PLC0415

    out = Path(args.out or f"availability-{args.month}")
    with _connect() as conn:
        organisation = None
        if args.org:
            org_id = storage.organisation_id(conn, args.org)
            if org_id is None:
                print(f"fleet-server: no organisation with code {args.org!r}", file=sys.stderr)
                return 1
            organisation = availability.Organisation(org_id, args.org)
        try:
            files = availability.write_report(
                conn,
                args.month,
                month(args.month),
                out,
                organisation=organisation,
                exclude_maintenance=not args.include_maintenance,
                generated_by=cli_actor(),
                now=datetime.now(UTC),
            )
        except OSError as exc:
            print(f"fleet-server: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    for path in files:
        print(path)
    return 0


def _month(text: str) -> str:
    from fleet_server.availability.period import month  # noqa: PLC0415

    try:
        month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def add_parser(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="reports: annual (Điều 14), ad hoc period (14.3), inspection archive"
    )
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
    p = report_sub.add_parser(
        "period",
        help="an ad hoc report (Điều 14.3) over any period in the annual outline, as DOCX",
    )
    p.add_argument("--from", dest="first", type=_day, required=True, help="first day, YYYY-MM-DD")
    p.add_argument("--to", dest="last", type=_day, required=True, help="last day, YYYY-MM-DD")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--org", help="organisation code (its own report)")
    who.add_argument("--province", action="store_true", help="the consolidated report")
    p.add_argument("--out", help="output .docx (default bao-cao-dot-xuat-<from>-<to>-<org>.docx)")
    p.set_defaults(func=cmd_period)
    p = report_sub.add_parser(
        "availability",
        help="monthly availability per board, site and organisation: CSV and XLSX with a"
        " SHA-256 manifest (docs/availability.md)",
    )
    p.add_argument("--month", type=_month, required=True, help="YYYY-MM, local time")
    p.add_argument("--org", help="one organisation code (default: the whole province)")
    p.add_argument(
        "--include-maintenance",
        action="store_true",
        help="count maintenance windows as expected time (default: excluded)",
    )
    p.add_argument("--out", help="output directory (default availability-<month>)")
    p.set_defaults(func=cmd_availability)
    p = report_sub.add_parser(
        "archive",
        help="the inspection archive (Điều 9.1): plays, advertising and compliance per day as"
        " CSV and XLSX with a SHA-256 manifest",
    )
    p.add_argument("--from", dest="first", type=date.fromisoformat, required=True)
    p.add_argument("--to", dest="last", type=date.fromisoformat, required=True)
    where = p.add_mutually_exclusive_group()
    where.add_argument("--board", help="one board id")
    where.add_argument("--site", help="one site code")
    where.add_argument("--org", help="one organisation code (default: the whole province)")
    p.add_argument("--out", help="output directory (default luu-tru-<scope>-<from>-<to>)")
    p.add_argument(
        "--with-files",
        action="store_true",
        help="copy the broadcast files shown into tep_files/ (default: listed by reference)",
    )
    p.add_argument(
        "--with-pictures",
        action="store_true",
        help="the boards' own pictures of their screens in the period, into anh_man_hinh/",
    )
    p.set_defaults(func=cmd_archive)
    p = report_sub.add_parser("verify", help="check an archive's files against its manifest")
    p.add_argument("directory")
    p.set_defaults(func=cmd_verify)
