"""The 4G data page (``/data-usage``: every board's month against its budget,
with bars, phone-friendly, 50 boards a page by id) and the board page's data
section (``_data_usage.html``); their budget forms are taken by
data_budget_form.py. The site filter and the site budget form choose their
site with the place picker (place_search.py: suggestions from
``/search/places``, a name or id typed without JavaScript), not a select of
every site."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, place_search
from fleet_server.api.console.forms import PICKED
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import ApiContext, Conn, Ctx, Db
from fleet_server.datausage import service
from fleet_server.errors import RequestError

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("telemetry.read"))]
PAGE_SIZE = 50


def default_budget(request: Request) -> int | None:
    ctx: ApiContext = request.app.state.ctx
    return service.default_bytes(ctx.settings.data_budget_mb)


def board_section(
    request: Request, conn: Conn, user: Principal, board_id: str, now: datetime
) -> dict[str, Any] | None:
    """What the board page shows of its 4G data (None: not the caller's to see)."""
    if not user.can("telemetry.read"):
        return None
    usage = service.board_usage(conn, user, board_id, default=default_budget(request), now=now)
    return {"usage": usage, "can_edit": user.can("command.send")}


@router.get("/data-usage")
def data_usage_page(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: Reader,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    after: Annotated[str | None, Query(max_length=64, pattern=DEVICE_ID_PATTERN)] = None,
    site: Annotated[str, Query(max_length=PICKED)] = "",
) -> Response:
    """``site``: the filter's picker (a site, or a board's site); ``site_id``
    the site of the page's own links. A place the picker cannot resolve:
    the page unfiltered, the reason beside the filter."""
    now = ctx.clock()
    if site.strip() and user.can("board.read"):
        try:
            site_id = place_search.site_picked(conn, user, site, "site")
        except RequestError as exc:
            return forms.refused(
                conn,
                exc,
                {"site": site},
                lambda refusal: data_view(request, conn, now, user, None, None, refusal),
                "data-filter",
                {"site": "data.site"},
            )
    return data_view(request, conn, now, user, site_id, after)


def data_view(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    site_id: int | None,
    after: str | None,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The data page; after a refused site budget (``refusal``, from
    data_budget_form.py), with what was typed and why."""
    page = service.fleet_usage(
        conn,
        user,
        site_id=site_id,
        after=after,
        limit=PAGE_SIZE,
        default=default_budget(request),
        now=now,
    )
    may_pick = user.can("board.read")  # the picker's search needs it
    places = place_search.shortlist(conn, user) if may_pick else []
    if site_id is not None and may_pick and all(p.id != str(site_id) for p in places):
        places = place_search.shortlist(conn, user, site_id=site_id, sites_only=True) + places
    return render(
        request,
        "data_usage.html",
        user,
        {
            "page": page,
            "site_id": site_id,
            "after": after,  # past the first page: a link back to it
            "may_pick": may_pick,
            "places": places,
            "chosen": f"site:{site_id}" if site_id else "",
            "can_edit": user.can("command.send"),
            **forms.no_refusal(),
            **(refusal or {}),
        },
    )
