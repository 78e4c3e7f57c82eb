"""/api/v1 maintenance windows: planned work on a site or a board. Incidents
are still recorded during a window; their notifications are held until it
ends (the engine reads the windows, ``maintenance.service.maintenance_until``).

The operations, checks and SQL live in ``fleet_server/maintenance/``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.maintenance import service
from fleet_server.maintenance.models import Recurrence
from fleet_server.maintenance.schemas import (
    BOARD_ID,
    MAX_ID,
    WindowCreate,
    WindowEnded,
    WindowOut,
)

router = APIRouter(tags=["maintenance windows"])

Reader = Annotated[Principal, Depends(require("maintenance.read"))]
Writer = Annotated[Principal, Depends(require("maintenance.write"))]
WindowId = Annotated[int, Path(ge=1, le=MAX_ID, description="maintenance window id")]


@router.get(
    "/maintenance-windows", summary="maintenance windows at the caller's sites, filtered and paged"
)
def windows_list(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    site_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the site's windows and its boards'")
    ] = None,
    board_id: Annotated[
        str | None,
        Query(pattern=BOARD_ID, description="windows covering the board: its own and its site's"),
    ] = None,
    active_at: Annotated[
        AwareDatetime | None, Query(description="windows with an occurrence covering this time")
    ] = None,
    current: Annotated[bool | None, Query(description="true: covering now")] = None,
    recurrence: Recurrence | None = None,
) -> Page[WindowOut]:
    """Sort by id, starts_at, ends_at or created_at; default: latest start first."""
    return service.list_windows(
        conn,
        user,
        paging,
        now=now,
        site_id=site_id,
        board_id=board_id,
        active_at=active_at,
        current=current,
        recurrence=recurrence,
    )


@router.post(
    "/maintenance-windows",
    status_code=201,
    summary="plan a maintenance window at a site or a board",
    responses={404: {"description": "site or board not found"}},
)
def windows_create(
    request: Request, conn: Db, now: Now, user: Writer, body: WindowCreate
) -> WindowOut:
    actor = user.acting_from(client_address(request))
    return service.create_window(conn, user, actor, body, now=now)


@router.get("/maintenance-windows/{window_id}", summary="one maintenance window")
def windows_get(conn: Db, now: Now, user: Reader, window_id: WindowId) -> WindowOut:
    return service.get_window(conn, user, window_id, now=now)


@router.post(
    "/maintenance-windows/{window_id}/end",
    summary="end the window now and release the notifications it held",
    responses={409: {"description": "the window has not started or is already over"}},
)
def windows_end(
    request: Request, conn: Db, now: Now, user: Writer, window_id: WindowId
) -> WindowEnded:
    actor = user.acting_from(client_address(request))
    return service.end_window(conn, user, actor, window_id, now=now)


@router.delete(
    "/maintenance-windows/{window_id}",
    status_code=204,
    summary="delete the window and release the notifications it held",
)
def windows_delete(
    request: Request, conn: Db, now: Now, user: Writer, window_id: WindowId
) -> Response:
    actor = user.acting_from(client_address(request))
    service.delete_window(conn, user, actor, window_id, now=now)
    return Response(status_code=204)
