"""The fleet overview (``/``) and the site page (``/sites/{id}``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console.overview_fleet import FleetPart
from fleet_server.api.console.tickets import open_tickets
from fleet_server.api.console.web import Viewer, home_for, page_for, redirect, render
from fleet_server.api.console.windows import site_windows_section
from fleet_server.api.deps import Conn, Db, Now
from fleet_server.boards.service import list_boards
from fleet_server.incidents.models import SITE_RULE, IncidentFilter
from fleet_server.incidents.service import attached_incidents, list_incidents
from fleet_server.organisations.health_cache import cached
from fleet_server.organisations.service import get_site

router = APIRouter(include_in_schema=False)

BoardReader = Annotated[Principal, Depends(page_for("board.read"))]
INCIDENT_ROWS = 10


def overview_context(conn: Conn, user: Principal) -> dict[str, Any]:
    """What the overview and its live fragment show: the fleet part (counts,
    map, sites) as kept per scope and language until the fleet's health
    changes (overview_fleet.py); the newest active incidents, read once per
    change as well (opened, resolved, re-graded: each moves the version; a
    board renamed shows within health_cache.MAX_AGE_S) but written per
    request, with their ages and the user's links."""
    incidents = None
    if user.can("incident.read"):
        incidents = cached(
            conn,
            ("overview-incidents", user.scope),
            lambda c, _: list_incidents(
                c,
                user,
                ListParams(limit=INCIDENT_ROWS, offset=0, sort=None),
                IncidentFilter.active(),
            ),
        )
    return {"fleet": FleetPart(conn, user), "incidents": incidents}


@router.get("/")
def overview(request: Request, conn: Db, user: Viewer) -> Response:
    if not user.can("board.read"):
        return redirect(home_for(user))
    context = overview_context(conn, user)
    part = context["fleet"] = FleetPart(conn, user, splice=True)
    return part.splice(render(request, "overview.html", user, context))


@router.get("/sites/{site_id}")
def site_page(
    request: Request,
    conn: Db,
    now: Now,
    user: BoardReader,
    site_id: Annotated[int, Path(ge=1, le=2**62)],
) -> Response:
    return site_view(request, conn, now, user, site_id)


def site_view(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    site_id: int,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The site's page; after a refused windows form (``refusal``), with
    what was typed and why."""
    site = get_site(conn, user, site_id)
    boards = list_boards(conn, user, ListParams(limit=100, offset=0, sort=None), site_id=site_id)
    incidents = list_incidents(
        conn,
        user,
        ListParams(limit=50, offset=0, sort=None),
        IncidentFilter.active(site_id=site_id, top_level=True),
    )
    parents = [i.id for i in incidents.items if i.rule == SITE_RULE]
    return render(
        request,
        "site.html",
        user,
        {
            "site": site,
            "boards": boards,
            "incidents": incidents,
            "children": attached_incidents(conn, user, parents),
            "tickets": open_tickets(conn, user, now=now, site_id=site_id)
            if user.can("ticket.read")
            else [],
            "windows": site_windows_section(conn, user, site_id),
            **(refusal or {}),
        },
    )
