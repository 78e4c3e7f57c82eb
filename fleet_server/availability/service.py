"""Availability of boards, sites and organisations over a period, as the SQL
functions of migration 0016 compute it (docs/availability.md).

In key order (board id, site code: the default) a page's boards or sites
are chosen first and only their figures computed; ``total`` is counted
without figures. Sorted by a figure, the figures of every visible board are
computed once (the database narrows to the caller's sites first), then
sorted and paged, so ``total`` is exact. The organisation level sums every
visible board too, and is kept a short while per scope (``cache``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from fleet_server.access.pagination import both_cursor_and_offset
from fleet_server.access.principal import Principal
from fleet_server.availability import cache, paging, storage, storage_keys
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
    cursor: str | None = None,
    to_now: bool = False,
) -> AvailabilityPage:
    """One page of the figures of ``period`` (already cut at now: ``to_now``
    when it was), after ``cursor`` (or, deprecated, after ``offset`` rows).
    The organisation level's rows may be up to ``cache.MAX_AGE_S`` old:
    ``period_to`` then says until when they run."""
    user.need("board.read")
    if cursor is not None and offset:
        raise both_cursor_and_offset()
    if sort is not None and sort.lstrip("-") not in SORTABLE[level]:
        allowed = ", ".join(sorted(SORTABLE[level]))
        raise Invalid(f"cannot sort by {sort.lstrip('-')!r}; one of: {allowed}", field="sort")
    position = None if cursor is None else paging.decode(level, sort, cursor)
    page = AvailabilityPage(
        items=[],
        total=0,
        limit=limit,
        offset=offset,
        level=level,
        period_from=period.start,
        period_to=period.end,
        exclude_maintenance=exclude_maintenance,
    )
    if period.end <= period.start:
        return page  # nothing has happened yet
    scope = user.scope
    end = None if to_now else period.end  # kept figures: a period to now, or this one
    if level == "organisation":
        # a handful of rows summing the whole scope: kept a short while
        def compute(c: Conn) -> cache.Kept:
            sites = storage.visible_sites(c, scope, site_id, organisation_id)
            return period.end, _rows(c, level, period, exclude_maintenance, sites)

        cache_key = (scope, site_id, organisation_id, period.start, end, exclude_maintenance)
        page.period_to, items = cache.kept(conn, cache.ORGANISATIONS, cache_key, compute)
    elif sort is None:
        visible = storage_keys.Visible(scope, site_id, organisation_id)
        _key_page(conn, page, visible, None if position is None else position[0])
        count = storage_keys.count_boards if level == "board" else storage_keys.count_sites
        total_key = (level, visible, period.start, end)
        page.total = cache.kept(conn, cache.TOTALS, total_key, lambda c: count(c, period, visible))
        return page
    else:
        sites = storage.visible_sites(conn, scope, site_id, organisation_id)
        items = _rows(conn, level, period, exclude_maintenance, sites)
    key = KEY[level]
    ordered = sort_items(items, sort, SORTABLE[level], key)
    first = offset
    if position is not None:
        first = paging.start_after(ordered, sort, key, position)
    page.items = ordered[first : first + limit]
    page.total = len(ordered)
    if first + limit < len(ordered) and page.items:
        page.next_cursor = paging.encode(level, sort, key, page.items[-1])
    return page


def _rows(
    conn: Conn, level: Level, period: Period, exclude_maintenance: bool, sites: list[Any]
) -> list[AvailabilityOut]:
    """Every row of ``level`` over ``sites``."""
    exclude = exclude_maintenance
    if level == "board":
        boards = storage.board_availability(conn, period, exclude_maintenance=exclude, sites=sites)
        return [_board(r) for r in boards]
    if level == "site":
        rows = storage.site_availability(conn, period, exclude_maintenance=exclude, sites=sites)
        return [_site(r) for r in rows]
    orgs = storage.organisation_availability(conn, period, exclude_maintenance=exclude, sites=sites)
    return [_organisation(r) for r in orgs]


def _key_page(
    conn: Conn, page: AvailabilityPage, sites: storage_keys.Visible, after: str | None
) -> None:
    """Fills ``page`` with a page of boards or sites in key order (not its
    total): its rows chosen first (an indexed read of boards or sites), then
    only their figures computed (``sites``: what the request reads)."""
    period = Period(page.period_from, page.period_to)
    exclude = page.exclude_maintenance
    more = False
    if page.level == "board":
        chosen = storage_keys.boards(
            conn, period, sites, after=after, limit=page.limit + 1, offset=page.offset
        )
        shown = chosen[: page.limit]
        more = len(chosen) > page.limit
        if shown:
            rows = storage.board_availability(
                conn,
                period,
                exclude_maintenance=exclude,
                sites=sorted({site for _, site in shown}),
                board_ids=[board for board, _ in shown],
            )
            page.items = [_board(r) for r in rows]
    else:
        chosen_sites = storage_keys.sites(
            conn, period, sites, after=after, limit=page.limit + 1, offset=page.offset
        )
        more = len(chosen_sites) > page.limit
        if chosen_sites:
            site_rows = storage.site_availability(
                conn, period, exclude_maintenance=exclude, sites=chosen_sites[: page.limit]
            )
            page.items = [_site(r) for r in site_rows]
    if more and page.items:
        page.next_cursor = paging.encode(page.level, None, KEY[page.level], page.items[-1])


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
    cursor: str | None = None,
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
        cursor=cursor,
        to_now=end >= now,
    )


def board_last_30_days(conn: Conn, board_id: str, site_id: int, now: datetime) -> float | None:
    """A board's availability over the last 30 days, computed as every report
    computes it (docs/availability.md), maintenance excluded; the caller
    checked that the board is in scope."""
    period = Period(now - timedelta(days=30), now)
    # the board alone, at its site (already known: no scope to resolve)
    rows = storage.board_availability(conn, period, sites=[site_id], board_ids=[board_id])
    return next((r.figures.availability for r in rows if r.board_id == board_id), None)
