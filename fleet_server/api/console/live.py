"""Live regions: the pieces of a page the browser re-fetches every few
seconds (``static/console.js``), so counts, incidents and board state change
without a reload.

Each fragment is an ordinary short request: it takes a pooled connection,
renders, and gives the connection back. Nothing is held open between polls,
so a hundred idle browsers cost no database connections. A fragment of an
ended session answers 401 and the script stops polling.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import cursor_pager
from fleet_server.api.console.boards import BoardId, board_context
from fleet_server.api.console.cameras import HealthQuery, cameras_context
from fleet_server.api.console.incidents import (
    Asked,
    Desk,
    IncidentId,
    incident_context,
    queue,
    with_children,
)
from fleet_server.api.console.overview import overview_context
from fleet_server.api.console.overview_fleet import FleetPart
from fleet_server.api.console.web import fragment, page_for
from fleet_server.api.deps import Db, Now

router = APIRouter(prefix="/live", include_in_schema=False)

BoardReader = Annotated[Principal, Depends(page_for("board.read"))]
CameraReader = Annotated[Principal, Depends(page_for("camera.read"))]
IncidentReader = Annotated[Principal, Depends(page_for("incident.read"))]


@router.get("/overview")
def overview_fragment(request: Request, conn: Db, user: BoardReader) -> Response:
    """The overview's live part, its kept fleet part spliced in as bytes
    (like the page: not passed through the template and encoded again)."""
    context = overview_context(conn, user)
    part = context["fleet"] = FleetPart(conn, user, splice=True)
    return part.splice(fragment(request, "_overview_live.html", user, context, page_path="/"))


@router.get("/boards/{board_id}")
def board_fragment(
    request: Request, conn: Db, now: Now, user: BoardReader, board_id: BoardId
) -> HTMLResponse:
    return fragment(
        request,
        "_board_live.html",
        user,
        board_context(conn, user, board_id, now, history=0),
        page_path=f"/boards/{board_id}",
    )


@router.get("/incidents")
def incidents_fragment(
    request: Request,
    conn: Db,
    user: Desk,
    asked: Asked,
) -> HTMLResponse:
    page = queue(conn, user, asked)
    return fragment(
        request,
        "_incidents_live.html",
        user,
        with_children(request, conn, user, page, asked.cursor),
        page_path="/incidents",
    )


@router.get("/incidents/{incident_id}")
def incident_fragment(
    request: Request, conn: Db, user: IncidentReader, incident_id: IncidentId
) -> HTMLResponse:
    return fragment(
        request,
        "_incident_live.html",
        user,
        incident_context(conn, user, incident_id),
        page_path=f"/incidents/{incident_id}",
    )


@router.get("/cameras")
def cameras_fragment(
    request: Request,
    conn: Db,
    now: Now,
    user: CameraReader,
    health: HealthQuery = None,
    cursor: cursor_pager.CursorQuery = None,
) -> HTMLResponse:
    return fragment(
        request,
        "_cameras_live.html",
        user,
        cameras_context(request, conn, user, now, health=health, cursor=cursor),
        page_path="/cameras",
    )
