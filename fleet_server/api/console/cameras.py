"""Camera status (``/cameras``): the Border Guard's page, and the only one it
has (Điều 13.1.b), with each camera's newest picture. Status and pictures
only: camera credentials never reach the server."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.access.scope import CAMERA_RULE_PATTERN
from fleet_server.api.console import pictures
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import Conn, Db, Now
from fleet_server.cameras.service import list_cameras
from fleet_server.incidents.models import IncidentFilter
from fleet_server.incidents.service import list_incidents

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("camera.read"))]
PAGE_SIZE = 100
CAMERA_RULES = CAMERA_RULE_PATTERN.rstrip("%")


def cameras_context(
    conn: Conn, user: Principal, now: Any, *, health: str | None, offset: int
) -> dict[str, Any]:
    cameras = list_cameras(
        conn, user, ListParams(limit=PAGE_SIZE, offset=offset, sort=None), now=now, health=health
    )
    incidents = []
    if user.can("incident.read"):
        active = list_incidents(
            conn, user, ListParams(limit=50, offset=0, sort=None), IncidentFilter.active()
        )
        incidents = [i for i in active.items if i.rule.startswith(CAMERA_RULES)]
    thumbnails = pictures.camera_thumbnails(conn, user, [c.board_id for c in cameras.items])
    return {
        "page": cameras,
        "camera_incidents": incidents,
        "health": health,
        "thumbnails": thumbnails,
    }


@router.get("/cameras")
def cameras_page(
    request: Request,
    conn: Db,
    now: Now,
    user: Reader,
    health: Annotated[Literal["ok", "failing", "unknown"] | None, Query()] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    context = cameras_context(conn, user, now, health=health, offset=offset)
    context["live_query"] = request.url.query
    return render(request, "cameras.html", user, context)
