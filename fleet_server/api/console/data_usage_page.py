"""The 4G data page (``/data-usage``: every board's month against its budget,
with bars, phone-friendly) and the board page's data section
(``_data_usage.html``); their budget forms are taken by data_budget_form.py."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, place_search
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import ApiContext, Conn, Ctx, Db
from fleet_server.datausage import service

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
) -> Response:
    return data_view(request, conn, ctx.clock(), user, site_id, after)


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
    sites = place_search.site_names(conn, user) if user.can("board.read") else []
    return render(
        request,
        "data_usage.html",
        user,
        {
            "page": page,
            "site_id": site_id,
            "sites": sites,
            "can_edit": user.can("command.send"),
            **forms.no_refusal(),
            **(refusal or {}),
        },
    )
