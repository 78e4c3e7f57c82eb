"""Availability of boards, sites and organisations over a period, as the SQL
functions of migration 0016 compute it (docs/availability.md).

The figures are computed once per request for every visible board (the
database narrows to the caller's sites first); sorting and paging then work
on that result, so ``total`` is exact and the work is not done twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fleet_server.access.principal import Principal
from fleet_server.availability import storage
from fleet_server.availability.models import (
    FIGURES,
    KEY,
    MAX_PERIOD,
    SORTABLE,
    BoardAvailability,
    Figures,
    Level,
    OrganisationAvailability,
    Period,
    SiteAvailability,
)
from fleet_server.availability.period import month_start, until
from fleet_server.availability.schemas import AvailabilityOut, AvailabilityPage
from fleet_server.availability.storage import Conn
from fleet_server.errors import Invalid


def _board(row: BoardAvailability) -> AvailabilityOut:
    return AvailabilityOut(
        level="board",
        board_id=row.board_id,
        board_name=row.board_name,
        site_id=row.site_id,
        site_code=row.site_code,
        site_name=row.site_name,
        organisation_id=row.organisation_id,
        organisation_code=row.organisation_code,
        organisation_name=row.organisation_name,
        sites=1,
        boards=1,
        **_figures(row.figures),
    )


def _site(row: SiteAvailability) -> AvailabilityOut:
    return AvailabilityOut(
        level="site",
        site_id=row.site_id,
        site_code=row.site_code,
        site_name=row.site_name,
        organisation_id=row.organisation_id,
        organisation_code=row.organisation_code,
        organisation_name=row.organisation_name,
        sites=1,
        boards=row.boards,
        **_figures(row.figures),
    )


def _organisation(row: OrganisationAvailability) -> AvailabilityOut:
    return AvailabilityOut(
        level="organisation",
        organisation_id=row.organisation_id,
        organisation_code=row.organisation_code,
        organisation_name=row.organisation_name,
        sites=row.sites,
        boards=row.boards,
        **_figures(row.figures),
    )


def _figures(figures: Figures) -> dict[str, Any]:
    return {name: getattr(figures, name) for name in FIGURES}


def sort_items(
    items: Sequence[AvailabilityOut], sort: str | None, allowed: Sequence[str], key: str
) -> list[AvailabilityOut]:
    """Sorted as the SQL lists sort: by ``sort`` (``-`` for descending), nulls
    last either way, then by the level's key."""
    ordered = sorted(items, key=lambda item: getattr(item, key))
    if sort is None:
        return ordered
    name = sort.lstrip("-")
    if name not in allowed:
        raise Invalid(f"cannot sort by {name!r}; one of: {', '.join(sorted(allowed))}")
    present = [item for item in ordered if getattr(item, name) is not None]
    missing = [item for item in ordered if getattr(item, name) is None]
    # Python's sort is stable, also with reverse: ties keep the key order.
    present.sort(key=lambda item: getattr(item, name), reverse=sort.startswith("-"))
    return present + missing


def availability_page(
    conn: Conn,
    user: Principal,
    *,
    level: Level,
    period: Period,
    exclude_maintenance: bool,
    site_id: int | None,
    organisation_id: int | None,
    sort: str | None,
    limit: int,
    offset: int,
) -> AvailabilityPage:
    """One page of the figures of ``period`` (already cut at now)."""
    user.need("board.read")
    kwargs: dict[str, Any] = {
        "exclude_maintenance": exclude_maintenance,
        "scope": user.scope,
        "site_id": site_id,
        "organisation_id": organisation_id,
    }
    items: list[AvailabilityOut] = []
    if period.end <= period.start:
        pass  # nothing has happened yet
    elif level == "board":
        items = [_board(r) for r in storage.board_availability(conn, period, **kwargs)]
    elif level == "site":
        items = [_site(r) for r in storage.site_availability(conn, period, **kwargs)]
    else:
        items = [
            _organisation(r) for r in storage.organisation_availability(conn, period, **kwargs)
        ]
    ordered = sort_items(items, sort, SORTABLE[level], KEY[level])
    return AvailabilityPage(
        items=ordered[offset : offset + limit],
        total=len(ordered),
        limit=limit,
        offset=offset,
        level=level,
        period_from=period.start,
        period_to=period.end,
        exclude_maintenance=exclude_maintenance,
    )


def availability(
    conn: Conn,
    user: Principal,
    *,
    now: datetime,
    level: Level,
    start: datetime | None,
    end: datetime | None,
    exclude_maintenance: bool,
    site_id: int | None,
    organisation_id: int | None,
    sort: str | None,
    limit: int,
    offset: int,
) -> AvailabilityPage:
    """The figures of [start, end) (default: this month, local time, until
    now), at most ``MAX_PERIOD`` long; the part after ``now`` is left out."""
    start = start or month_start(now)
    end = end or now
    if start >= end:
        raise Invalid("from: must be before to", field="from")
    if end - start > MAX_PERIOD:
        raise Invalid("the period may be at most 366 days", field="to")
    return availability_page(
        conn,
        user,
        level=level,
        period=until(Period(start, end), now),
        exclude_maintenance=exclude_maintenance,
        site_id=site_id,
        organisation_id=organisation_id,
        sort=sort,
        limit=limit,
        offset=offset,
    )


def board_last_30_days(conn: Conn, board_id: str, site_id: int, now: datetime) -> float | None:
    """A board's availability over the last 30 days, computed as every report
    computes it (docs/availability.md), maintenance excluded; the caller
    checked that the board is in scope."""
    period = Period(now - timedelta(days=30), now)
    for row in storage.board_availability(conn, period, site_id=site_id):
        if row.board_id == board_id:
            return row.figures.availability
    return None
