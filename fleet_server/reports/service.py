"""The annual report (Điều 14) and the inspection archive (Điều 9.1) as
downloads, and what the reports page's forms offer. Each download is audited
with the SHA-256 of the very file handed out (Điều 9.2)."""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.compliance.models import local_day
from fleet_server.compliance.service import MAX_DAYS
from fleet_server.errors import Forbidden, Invalid, NotFound
from fleet_server.reports import annual, archive, figures, storage
from fleet_server.reports.storage import Conn

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
#: An ad hoc report (Điều 14.3) covers at most this many days: two years.
MAX_PERIOD_DAYS = 731
#: Nothing in the platform is older than this.
EARLIEST_DAY = date(2020, 1, 1)


#: The downloads' file names in each reader's language (ASCII: a slug of
#: the words, then the place's code and the period).
FILE_NAMES: dict[str, dict[str, str]] = {
    "vi": {
        "annual": "bao-cao-nam-{year}-{place}.docx",
        "period": "bao-cao-dot-xuat-{first}-{last}-{place}.docx",
        "archive": "luu-tru-{place}-{first}-{last}.zip",
        "province": "toan-tinh",
    },
    "en": {
        "annual": "annual-report-{year}-{place}.docx",
        "period": "ad-hoc-report-{first}-{last}-{place}.docx",
        "archive": "archive-{place}-{first}-{last}.zip",
        "province": "province",
    },
}


def file_name(language: str, kind: str, place: str | None, **values: object) -> str:
    """A download's name in ``language`` (Vietnamese for any other): the
    ``kind`` of file, about ``place`` (a code; None: the whole province)."""
    names = FILE_NAMES.get(language, FILE_NAMES["vi"])
    return names[kind].format(place=place or names["province"], **values)


@dataclass(frozen=True, slots=True)
class Download:
    """A file to hand out: its name, bytes and media type."""

    name: str
    body: bytes
    media_type: str


def organisation_code(conn: Conn, user: Principal, organisation_id: int | None) -> str | None:
    """The organisation a report is about: the caller's own unless province-wide."""
    if organisation_id is None:
        if user.province_wide:
            return None
        if user.organisation_id is None:
            raise Forbidden("this account belongs to no organisation")
        organisation_id = user.organisation_id
    elif not user.province_wide and organisation_id != user.organisation_id:
        raise NotFound("organisation", organisation_id)
    code = storage.organisation_code(conn, organisation_id)
    if code is None:
        raise NotFound("organisation", organisation_id)
    return code


def annual_report(
    conn: Conn,
    user: Principal,
    actor: Actor,
    now: datetime,
    *,
    year: int,
    organisation_id: int | None = None,
    language: str = "vi",
) -> Download:
    """The annual report of an organisation (or the province) as DOCX,
    named in ``language``."""
    code = organisation_code(conn, user, organisation_id)
    fig = figures.collect(conn, year, code, now=now)
    with tempfile.TemporaryDirectory() as tmp:
        path = annual.write(fig, Path(tmp) / "report.docx")
        body = path.read_bytes()
    name = file_name(language, "annual", code, year=year)
    period = figures.Period.annual(year)
    _audit_download(
        conn,
        actor,
        "report.annual.download",
        target=("organisation", code) if code else ("province", "toan-tinh"),
        what={"year": year, "from": period.first_day, "to": period.last_day},
        name=name,
        body=body,
    )
    return Download(name, body, DOCX)


def check_period(first: date, last: date, now: datetime) -> None:
    """The dates of an ad hoc report (Điều 14.3): ``first`` ≤ ``last``, not
    before 2020, not after today (local), at most two years. Raises
    :class:`Invalid` naming the date at fault."""
    today = local_day(now)
    if first < EARLIEST_DAY:
        raise Invalid(f"`from` {first} is before {EARLIEST_DAY}: no data that old", field="from")
    if last < first:
        raise Invalid(f"`from` {first} is after `to` {last}", field="from")
    if last > today:
        raise Invalid(
            f"`to` {last} is after today ({today}, Vietnam time): the period has not ended",
            field="to",
        )
    days = (last - first).days + 1
    if days > MAX_PERIOD_DAYS:
        raise Invalid(
            f"the period is {days} days; an ad hoc report covers at most {MAX_PERIOD_DAYS}"
            " (two years): ask for the annual reports instead",
            field="to",
        )


def period_report(
    conn: Conn,
    user: Principal,
    actor: Actor,
    now: datetime,
    *,
    first: date,
    last: date,
    organisation_id: int | None = None,
    language: str = "vi",
) -> Download:
    """An ad hoc report (Điều 14.3) over [first, last] in the annex's
    outline, as DOCX named in ``language``."""
    check_period(first, last, now)
    code = organisation_code(conn, user, organisation_id)
    fig = figures.collect_period(conn, first, last, code, now=now)
    with tempfile.TemporaryDirectory() as tmp:
        path = annual.write(fig, Path(tmp) / "report.docx")
        body = path.read_bytes()
    name = file_name(language, "period", code, first=first, last=last)
    _audit_download(
        conn,
        actor,
        "report.period.download",
        target=("organisation", code) if code else ("province", "toan-tinh"),
        what={"from": first, "to": last},
        name=name,
        body=body,
    )
    return Download(name, body, DOCX)


def archive_days(first: date, last: date, now: datetime) -> tuple[date, date]:
    """The archive's days as asked (Invalid naming the field at fault): in
    order, begun, at most ``MAX_DAYS``; the last cut at today (local)."""
    if last < first:
        raise Invalid("`from` is after `to`", field="from")
    today = local_day(now)
    if first > today:
        raise Invalid("the period has not begun yet", field="from")
    last = min(last, today)
    if (last - first).days >= MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days at once", field="to")
    return first, last


def inspection_archive(
    conn: Conn,
    user: Principal,
    actor: Actor,
    now: datetime,
    *,
    first: date,
    last: date,
    board_id: str | None = None,
    site_id: int | None = None,
    organisation_id: int | None = None,
    language: str = "vi",
) -> Download:
    """The inspection archive of a board, site, organisation or the province
    as a ZIP (plays, advertising, compliance, manifest) named in ``language``."""
    if sum(x is not None for x in (board_id, site_id, organisation_id)) > 1:
        raise Invalid("give one of board_id, site_id, organisation_id", field="board_id")
    first, last = archive_days(first, last, now)
    scope = _archive_scope(conn, user, board_id, site_id, organisation_id)
    period = figures.Period.days(first, last)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        files = archive.write(conn, scope, period, Path(tmp), generated_by=actor.username, now=now)
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, path.relative_to(tmp).as_posix())
    place = scope.board or scope.site or scope.organisation
    name = file_name(language, "archive", place, first=first, last=last)
    target = (
        ("board", scope.board)
        if scope.board
        else ("site", scope.site)
        if scope.site
        else ("organisation", scope.organisation)
        if scope.organisation
        else ("province", scope.label)
    )
    _audit_download(
        conn,
        actor,
        "archive.download",
        target=target,
        what={"from": first, "to": last},
        name=name,
        body=buffer.getvalue(),
    )
    return Download(name, buffer.getvalue(), "application/zip")


def _archive_scope(
    conn: Conn,
    user: Principal,
    board_id: str | None,
    site_id: int | None,
    organisation_id: int | None,
) -> archive.Scope:
    if board_id is not None:
        board_in_scope(conn, user.scope, board_id)
        return archive.Scope(board=board_id)
    if site_id is not None:
        code = storage.site_code(conn, user.scope, site_id)
        if code is None:
            raise NotFound("site", site_id)
        return archive.Scope(site=code)
    if organisation_id is None and user.province_wide:
        return archive.Scope()
    return archive.Scope(organisation=organisation_code(conn, user, organisation_id))


def _audit_download(
    conn: Conn,
    actor: Actor,
    action: str,
    *,
    target: tuple[str, str],
    what: dict[str, object],
    name: str,
    body: bytes,
) -> None:
    """Who took which report or archive, of what and which period, and the
    SHA-256 of the very file they got (Điều 9.2): written in the request's
    transaction, committed before the file is sent."""
    audit.record(
        conn,
        actor,
        action,
        target_type=target[0],
        target_id=target[1],
        after={
            **what,
            "file": name,
            "bytes": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        },
    )


def organisation_choices(conn: Conn, user: Principal) -> list[tuple[Any, ...]]:
    """(id, name, English name) the reports' forms offer: every
    organisation province-wide, else the account's own (sites are picked
    with the console's place picker, not listed)."""
    return storage.organisations(conn, every=user.province_wide, own=user.organisation_id)
