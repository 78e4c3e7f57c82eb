"""/api/v1 preventive maintenance schedules: every N days the engine opens a
preventive ticket for a board or a whole site.

The operations, checks and SQL live in ``fleet_server/tickets/``
(``service_preventive``, ``storage_preventive``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.tickets import service_preventive as service
from fleet_server.tickets.schemas_preventive import (
    BOARD_ID,
    MAX_ID,
    ScheduleCreate,
    ScheduleOut,
    SchedulePatch,
)

router = APIRouter(tags=["preventive maintenance"])

Reader = Annotated[Principal, Depends(require("maintenance.read"))]
Writer = Annotated[Principal, Depends(require("maintenance.write"))]
ScheduleId = Annotated[int, Path(ge=1, le=MAX_ID, description="schedule id")]


@router.get("/preventive-schedules", summary="preventive schedules at the caller's sites")
def schedules_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    site_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the site's schedules and its boards'")
    ] = None,
    board_id: Annotated[
        str | None, Query(pattern=BOARD_ID, description="the board's schedules and its site's")
    ] = None,
    due_by: Annotated[date | None, Query(description="next due on or before this day")] = None,
) -> Page[ScheduleOut]:
    """Sort by id, next_due_on, every_days or created_at; default: next due first."""
    return service.list_schedules(
        conn, user, paging, site_id=site_id, board_id=board_id, due_by=due_by
    )


@router.post(
    "/preventive-schedules",
    status_code=201,
    summary="plan a preventive schedule for a board or a site",
    responses={404: {"description": "site or board not found"}},
)
def schedules_create(
    request: Request, conn: Db, now: Now, user: Writer, body: ScheduleCreate
) -> ScheduleOut:
    actor = user.acting_from(client_address(request))
    return service.create_schedule(conn, user, actor, body, now=now)


@router.get("/preventive-schedules/{schedule_id}", summary="one preventive schedule")
def schedules_get(conn: Db, user: Reader, schedule_id: ScheduleId) -> ScheduleOut:
    return service.get_schedule(conn, user, schedule_id)


@router.patch("/preventive-schedules/{schedule_id}", summary="change a preventive schedule")
def schedules_update(
    request: Request, conn: Db, now: Now, user: Writer, schedule_id: ScheduleId, body: SchedulePatch
) -> ScheduleOut:
    actor = user.acting_from(client_address(request))
    return service.update_schedule(conn, user, actor, schedule_id, body, now=now)


@router.delete(
    "/preventive-schedules/{schedule_id}",
    status_code=204,
    summary="stop a preventive schedule (its tickets stay)",
)
def schedules_delete(request: Request, conn: Db, user: Writer, schedule_id: ScheduleId) -> Response:
    actor = user.acting_from(client_address(request))
    service.delete_schedule(conn, user, actor, schedule_id)
    return Response(status_code=204)
