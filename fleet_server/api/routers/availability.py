"""/api/v1 availability of boards, sites and organisations over a period,
as the SQL functions of migration 0016 compute it (docs/availability.md;
fleet_server/availability/service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import AwareDatetime

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, require
from fleet_server.api.pagination import KeysetPaging, link_next
from fleet_server.availability import service
from fleet_server.availability.models import Level
from fleet_server.availability.schemas import AvailabilityPage

router = APIRouter(tags=["availability"])

Reader = Annotated[Principal, Depends(require("board.read"))]


@router.get(
    "/availability",
    summary="availability per board, site or organisation over a period",
)
def availability_list(
    request: Request,
    response: Response,
    conn: Db,
    user: Reader,
    now: Now,
    paging: KeysetPaging,
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
    ``-down_s``); default: by id or code. Paged like the other lists: each
    page's ``next_cursor`` (and ``Link: rel="next"``) opens the next one;
    ``total`` counts the whole scope."""
    page = service.availability(
        conn,
        user,
        now=now,
        level=level,
        start=from_,
        end=to,
        exclude_maintenance=exclude_maintenance,
        site_id=site_id,
        organisation_id=organisation_id,
        sort=paging.sort,
        limit=paging.limit,
        offset=paging.offset,
        cursor=paging.cursor,
    )
    link_next(request, response, page)
    return page
