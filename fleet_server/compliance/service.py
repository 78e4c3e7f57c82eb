"""What the API and the console ask of compliance: the days per board, a
board's proof of play, and the last days' figures; each narrowed to the
caller's sites (a board outside them is NotFound)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.scope import Scope
from fleet_server.boards.service import board_in_scope
from fleet_server.compliance import storage_reads
from fleet_server.compliance.models import local_day
from fleet_server.compliance.schemas import ComplianceDay, Play
from fleet_server.compliance.storage import Conn
from fleet_server.errors import Invalid

#: The longest period a list, report or archive covers at once.
MAX_DAYS = 366


def day_range(start: date | None, end: date | None, now: datetime) -> tuple[date, date]:
    """The days asked for: up to today (local) and 30 days back by default."""
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


def compliance_days(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    now: datetime,
    *,
    first: date | None = None,
    last: date | None = None,
    board_id: str | None = None,
    site_id: int | None = None,
    status: str | None = None,
) -> Page[ComplianceDay]:
    start, end = day_range(first, last, now)
    return storage_reads.days_page(
        conn,
        scope,
        paging,
        start,
        end,
        board_id=board_id,
        site_id=site_id,
        status=status,
        model=ComplianceDay,
    )


def board_plays(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    board_id: str,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kind: str | None = None,
) -> Page[Play]:
    """A board's play log, the 24 hours before ``until`` (now) by default."""
    board_in_scope(conn, scope, board_id)
    if (since and since.tzinfo is None) or (until and until.tzinfo is None):
        raise Invalid("since/until: give a time zone (e.g. 2026-11-28T08:00:00+07:00)")
    until = until or now
    try:
        since = since or until - timedelta(hours=24)
    except OverflowError:
        raise Invalid("until is too early", field="until") from None
    if since >= until:
        raise Invalid("`since` is not before `until`", field="since")
    return storage_reads.plays_page(conn, paging, board_id, since, until, kind=kind, model=Play)


@dataclass(frozen=True, slots=True)
class Recent:
    """The last days of compliance as the reports page shows them."""

    first: date
    today: date
    #: status -> board-days
    counts: dict[str, int]
    #: the non-compliant, unknown and exempt days, and the days over their
    #: advertising ceiling (storage_reads.problem_days)
    problems: list[tuple[Any, ...]]
    #: board-days whose advertising share exceeded their ceiling (Điều 8.3)
    advertising_over: int = 0


def recent(conn: Conn, scope: Scope, now: datetime, days: int) -> Recent:
    """The ``days`` local days up to today."""
    today = local_day(now)
    first = today - timedelta(days=days - 1)
    return Recent(
        first=first,
        today=today,
        counts=storage_reads.status_counts(conn, scope, first, today),
        problems=storage_reads.problem_days(conn, scope, first, today),
        advertising_over=storage_reads.advertising_over(conn, scope, first, today),
    )
