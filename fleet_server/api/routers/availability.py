"""/api/v1 availability of boards, sites and organisations over a period,
as the SQL functions of migration 0016 compute it (docs/availability.md).

The figures are computed once per request for every visible board (the
database narrows to the caller's sites first); sorting and paging then work
on that result, so ``total`` is exact and the work is not done twice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.availability import storage
from fleet_server.availability.models import (
    BoardAvailability,
    Figures,
    OrganisationAvailability,
    Period,
    SiteAvailability,
)
from fleet_server.availability.period import month_start, until
from fleet_server.errors import Invalid

router = APIRouter(tags=["availability"])

Level = Literal["board", "site", "organisation"]
Reader = Annotated[Principal, Depends(require("board.read"))]
#: The longest period one request may ask for (an annual report's year).
MAX_PERIOD = timedelta(days=366)
FIGURES = ("expected_s", "up_s", "down_s", "unknown_s", "maintenance_s", "availability")
#: Sortable fields per level, and the default order (its natural key).
SORTABLE: dict[str, tuple[str, ...]] = {
    "board": ("board_id", "board_name", "site_code", "organisation_code", *FIGURES),
    "site": ("site_code", "site_name", "organisation_code", "boards", *FIGURES),
    "organisation": ("organisation_code", "organisation_name", "sites", "boards", *FIGURES),
}
KEY = {"board": "board_id", "site": "site_code", "organisation": "organisation_code"}


class AvailabilityOut(BaseModel):
    """One board, site or organisation; fields of a finer level are null."""

    level: Level
    board_id: str | None = None
    board_name: str | None = None
    site_id: int | None = None
    site_code: str | None = None
    site_name: str | None = None
    organisation_id: int
    organisation_code: str
    organisation_name: str
    sites: int
    boards: int
    #: Seconds: expected = up + down + unknown (maintenance taken out when excluded).
    expected_s: float
    up_s: float
    down_s: float
    unknown_s: float
    maintenance_s: float
    #: up / (up + down), 0–1; null when nothing was known.
    availability: float | None


class AvailabilityPage(Page[AvailabilityOut]):
    level: Level
    #: The period computed: ``to`` is never later than now.
    period_from: datetime
    period_to: datetime
    exclude_maintenance: bool


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
    kwargs: dict[str, Any] = {
        "exclude_maintenance": exclude_maintenance,
        "scope": sites_condition(user.scope, "s.id"),
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


@router.get(
    "/availability",
    summary="availability per board, site or organisation over a period",
)
def availability_list(
    conn: Db,
    user: Reader,
    now: Now,
    paging: Paging,
    level: Annotated[Level, Query(description="what each row is")] = "board",
    from_: Annotated[
        AwareDatetime | None,
        Query(alias="from", description="start (with offset); default: this month, local time"),
    ] = None,
    to: Annotated[
        AwareDatetime | None, Query(description="end (with offset); default and at most: now")
    ] = None,
    exclude_maintenance: Annotated[
        bool, Query(description="take maintenance windows out of the expected time")
    ] = True,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> AvailabilityPage:
    """Seconds up, down (offline, lost, stale), unknown and in maintenance, and
    up / (up + down). Sites and organisations sum their boards' seconds; only
    the caller's sites count. Sort by the level's fields (e.g. ``availability``,
    ``-down_s``); default: by id or code."""
    start = from_ or month_start(now)
    end = to or now
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
        sort=paging.sort,
        limit=paging.limit,
        offset=paging.offset,
    )
