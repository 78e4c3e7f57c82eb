"""Camera status (``/cameras``): the Border Guard's page, and the only one it
has (Điều 13.1.b), with each camera's newest picture. Status and pictures
only: camera credentials never reach the server."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import cursor_pager, pictures
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import Conn, Db, Now
from fleet_server.cameras.models import Health
from fleet_server.cameras.schemas import CameraOut
from fleet_server.cameras.service import cameras_after, health_counts, open_camera_incidents

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("camera.read"))]
HealthQuery = Annotated[Health | None, Query()]
PAGE_SIZE = 50
#: Each health group is counted up to this many ("1,000+" beyond): an exact
#: count of every camera in scope would cost more than the page.
COUNTED = 1_000
#: Open camera incidents listed above the cameras, worst first.
INCIDENTS_SHOWN = 50


def cameras_context(
    request: Request,
    conn: Conn,
    user: Principal,
    now: Any,
    *,
    health: Health | None,
    cursor: str | None,
) -> dict[str, Any]:
    """The list's page (failing first, by site), each health group's count,
    the open camera incidents and the page's newest pictures; and the
    pager's links (to ``/cameras``, from the page or its live fragment)."""
    counts = health_counts(conn, user, now=now, cap=COUNTED)
    items, next_cursor = cameras_after(
        conn,
        user,
        ListParams(limit=PAGE_SIZE, offset=0, sort=None, cursor=cursor),
        now=now,
        health=health,
        counts=counts,
    )
    shown = [counts[health]] if health else list(counts.values())
    page: CursorPage[CameraOut] = CursorPage(
        items=items,
        total=sum(c.n for c in shown),
        total_capped=any(c.capped for c in shown),
        limit=PAGE_SIZE,
        offset=0,
        next_cursor=next_cursor,
    )
    incidents = []
    if user.can("incident.read"):
        incidents = open_camera_incidents(conn, user, limit=INCIDENTS_SHOWN)
    thumbnails = pictures.camera_thumbnails(conn, user, [c.board_id for c in items])
    return {
        "page": page,
        "counts": counts,
        "pager": cursor_pager.links("/cameras", request.query_params, page, cursor),
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
    health: HealthQuery = None,
    cursor: cursor_pager.CursorQuery = None,
) -> Response:
    context = cameras_context(request, conn, user, now, health=health, cursor=cursor)
    context["live_query"] = request.url.query
    return render(request, "cameras.html", user, context)
