"""/api/v1 broadcast compliance (Điều 8), proof of play (Điều 9.1), the
annual report (Điều 14) and the inspection archive.

Every list is narrowed to the caller's sites; a board outside them is 404.
"""

from __future__ import annotations

import hashlib
import io
import tempfile
import zipfile
from datetime import date, datetime, timedelta
from pathlib import Path as FsPath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel

from fleet_server.access.pagination import Page, add_equal, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.boards.service import board_in_scope
from fleet_server.compliance.rules import local_day
from fleet_server.errors import Forbidden, Invalid, NotFound
from fleet_server.reports import annual, archive, figures

router = APIRouter(tags=["compliance"])

Reader = Annotated[Principal, Depends(require("compliance.read"))]
Reporter = Annotated[Principal, Depends(require("report.read"))]
Status = Literal["compliant", "non_compliant", "unknown", "pending", "no_windows", "exempt"]
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MAX_DAYS = 366


class ComplianceDay(BaseModel):
    board_id: str
    board_name: str
    site_id: int
    day: date
    status: str
    morning_minutes: float
    afternoon_minutes: float
    total_minutes: float
    advertising_minutes: float
    emergency_minutes: float
    morning_unknown: float
    afternoon_unknown: float
    computed_at: datetime


class Play(BaseModel):
    board_id: str
    content_sha256: str
    started_at: datetime
    ended_at: datetime
    minutes: float
    content_id: str | None
    content_kind: str | None
    content_language: str | None
    title: str | None
    approved: bool
    source: str


def _days(start: date | None, end: date | None, now: datetime) -> tuple[date, date]:
    end = end or local_day(now)
    try:
        start = start or end - timedelta(days=29)
    except OverflowError:
        raise Invalid("`to` is too early", field="to") from None
    if start > end:
        raise Invalid("`from` is after `to`", field="from")
    if (end - start).days >= MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days at once", field="to")
    return start, end


@router.get("/compliance/days", summary="broadcast compliance per board and local day")
def compliance_days(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    from_: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    to: Annotated[date | None, Query(description="last day (local), default today")] = None,
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[ComplianceDay]:
    first, last = _days(from_, to, now)
    scope, params = sites_condition(user.scope, "b.site_id")
    where = [scope, "c.day BETWEEN %s AND %s"]
    params += [first, last]
    add_equal(
        where, params, (("c.board_id", board_id), ("b.site_id", site_id), ("c.status", status))
    )
    select = (
        "SELECT c.board_id, b.name AS board_name, b.site_id, c.day, c.status,"
        " c.morning_minutes, c.afternoon_minutes, c.total_minutes, c.advertising_minutes,"
        " c.emergency_minutes, c.morning_unknown, c.afternoon_unknown, c.computed_at"
        " FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        f" WHERE {' AND '.join(where)}"
    )
    return fetch_page(
        conn,
        select,
        params,
        paging,
        sortable=("day", "board_id", "status", "morning_minutes", "afternoon_minutes"),
        default="day DESC",
        tiebreak="board_id",
        model=ComplianceDay,
    )


@router.get("/boards/{board_id}/plays", summary="what a board showed and when (proof of play)")
def board_plays(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    board_id: Annotated[str, Path(max_length=64)],
    since: Annotated[datetime | None, Query(description="default: 24 h before until")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    kind: Annotated[Literal["propaganda", "advertising", "emergency"] | None, Query()] = None,
) -> Page[Play]:
    board_in_scope(conn, user.scope, board_id)
    if (since and since.tzinfo is None) or (until and until.tzinfo is None):
        raise Invalid("since/until: give a time zone (e.g. 2026-11-28T08:00:00+07:00)")
    until = until or now
    try:
        since = since or until - timedelta(hours=24)
    except OverflowError:
        raise Invalid("until is too early", field="until") from None
    if since >= until:
        raise Invalid("`since` is not before `until`", field="since")
    params: list[object] = [board_id, since, until]
    where = "p.device_id = %s AND p.started_at >= %s AND p.started_at < %s"
    if kind is not None:
        where += " AND COALESCE(p.content_kind, ci.kind) = %s"
        params.append(kind)
    select = (
        "SELECT p.device_id AS board_id, p.content_sha256, p.started_at, p.ended_at,"
        " round((extract(epoch FROM p.ended_at - p.started_at) / 60)::numeric, 2)::float8"
        " AS minutes, p.content_id, COALESCE(p.content_kind, ci.kind) AS content_kind,"
        " COALESCE(p.content_language, ci.language) AS content_language, ci.title,"
        " (ci.id IS NOT NULL AND p.started_at >= ci.valid_from"
        "  AND (ci.valid_to IS NULL OR p.started_at < ci.valid_to)) AS approved, p.source"
        " FROM play_log p LEFT JOIN content_items ci ON ci.sha256 = p.content_sha256"
        f" WHERE {where}"
    )
    return fetch_page(
        conn,
        select,
        params,
        paging,
        sortable=("started_at", "minutes", "content_kind"),
        default="started_at DESC",
        tiebreak="content_sha256",
        model=Play,
    )


def _organisation_code(conn: Db, user: Principal, organisation_id: int | None) -> str | None:
    """The organisation a report is about: the caller's own unless province-wide."""
    if organisation_id is None:
        if user.province_wide:
            return None
        if user.organisation_id is None:
            raise Forbidden("this account belongs to no organisation")
        organisation_id = user.organisation_id
    elif not user.province_wide and organisation_id != user.organisation_id:
        raise NotFound("organisation", organisation_id)
    row = conn.execute(
        "SELECT code FROM organisations WHERE id = %s", (organisation_id,)
    ).fetchone()
    if row is None:
        raise NotFound("organisation", organisation_id)
    return str(row[0])


@router.get(
    "/reports/annual",
    summary="the annual report (Điều 14) as DOCX",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}, "description": "the report"}},
)
def annual_report(
    request: Request,
    conn: Db,
    now: Now,
    user: Reporter,
    year: Annotated[int, Query(ge=2020, le=2100)],
    organisation_id: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="default: the caller's; admins: none = the province"),
    ] = None,
) -> Response:
    code = _organisation_code(conn, user, organisation_id)
    fig = figures.collect(conn, year, code, now=now)
    with tempfile.TemporaryDirectory() as tmp:
        path = annual.write(fig, FsPath(tmp) / "report.docx")
        body = path.read_bytes()
    name = f"bao-cao-nam-{year}-{code or 'toan-tinh'}.docx"
    period = figures.Period.annual(year)
    _audit_download(
        conn,
        user,
        request,
        "report.annual.download",
        target=("organisation", code) if code else ("province", "toan-tinh"),
        what={"year": year, "from": period.first_day, "to": period.last_day},
        name=name,
        body=body,
    )
    return Response(
        body, media_type=DOCX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _audit_download(
    conn: Conn,
    user: Principal,
    request: Request,
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
    record(
        conn,
        user,
        request,
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


@router.get(
    "/archive",
    summary="the inspection archive (Điều 9.1): plays, advertising, compliance, manifest",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "a ZIP"}},
)
def inspection_archive(
    request: Request,
    conn: Db,
    now: Now,
    user: Reader,
    from_: Annotated[date, Query(alias="from", description="first day (local)")],
    to: Annotated[date, Query(description="last day (local)")],
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    if sum(x is not None for x in (board_id, site_id, organisation_id)) > 1:
        raise Invalid("give one of board_id, site_id, organisation_id", field="board_id")
    if to < from_:
        raise Invalid("`from` is after `to`", field="from")
    today = local_day(now)
    if from_ > today:
        raise Invalid("the period has not begun yet", field="from")
    to = min(to, today)
    if (to - from_).days >= MAX_DAYS:
        raise Invalid(f"at most {MAX_DAYS} days at once", field="to")
    scope = _archive_scope(conn, user, board_id, site_id, organisation_id)
    period = figures.Period.days(from_, to)
    buffer = io.BytesIO()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            files = archive.write(
                conn, scope, period, FsPath(tmp), generated_by=user.actor, now=now
            )
        except archive.ArchiveError as exc:
            raise Invalid(str(exc), field="from") from None
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
            for path in files:
                zf.write(path, path.name)
    name = f"luu-tru-{scope.label}-{from_}-{to}.zip"
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
        user,
        request,
        "archive.download",
        target=target,
        what={"from": from_, "to": to},
        name=name,
        body=buffer.getvalue(),
    )
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _archive_scope(
    conn: Db,
    user: Principal,
    board_id: str | None,
    site_id: int | None,
    organisation_id: int | None,
) -> archive.Scope:
    if board_id is not None:
        board_in_scope(conn, user.scope, board_id)
        return archive.Scope(board=board_id)
    if site_id is not None:
        clause, params = sites_condition(user.scope, "s.id")
        row = conn.execute(
            f"SELECT code FROM sites s WHERE s.id = %s AND {clause}", [site_id, *params]
        ).fetchone()
        if row is None:
            raise NotFound("site", site_id)
        return archive.Scope(site=row[0])
    if organisation_id is None and user.province_wide:
        return archive.Scope()
    return archive.Scope(organisation=_organisation_code(conn, user, organisation_id))
