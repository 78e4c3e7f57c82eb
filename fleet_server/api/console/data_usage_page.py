"""The 4G data page (``/data-usage``: every board's month against its budget,
with bars, phone-friendly) and the board page's data section
(``_data_usage.html``), with their budget forms (``command.send``: the same
service, audit and push to the boards as ``PUT /api/v1/data-budgets``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import ApiContext, Conn, Ctx, Db, client_address
from fleet_server.datausage import service
from fleet_server.datausage.schemas import BudgetIn
from fleet_server.errors import Invalid
from fleet_server.organisations.service import site_health

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("telemetry.read"))]
Setter = Annotated[Principal, Depends(form_for("command.send"))]
PAGE_SIZE = 50
MB = 1_000_000


def _default(request: Request) -> int | None:
    ctx: ApiContext = request.app.state.ctx
    return service.default_bytes(ctx.settings.data_budget_mb)


def board_section(
    request: Request, conn: Conn, user: Principal, board_id: str, now: datetime
) -> dict[str, Any] | None:
    """What the board page shows of its 4G data (None: not the caller's to see)."""
    if not user.can("telemetry.read"):
        return None
    usage = service.board_usage(conn, user, board_id, default=_default(request), now=now)
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
    page = service.fleet_usage(
        conn,
        user,
        site_id=site_id,
        after=after,
        limit=PAGE_SIZE,
        default=_default(request),
        now=ctx.clock(),
    )
    sites = site_health(conn, user) if user.can("board.read") else []
    return render(
        request,
        "data_usage.html",
        user,
        {
            "page": page,
            "site_id": site_id,
            "sites": sorted(sites, key=lambda s: s.name),
            "can_edit": user.can("command.send"),
        },
    )


def _megabytes(text: str) -> int | None:
    """The form's MB (blank: remove the budget) in bytes."""
    text = text.strip()
    if not text:
        return None
    # worded in the reader's language by the console's refusals (forms.REASONS)
    if not text.isdigit():
        raise Invalid("monthly_mb: give a whole number", field="monthly_mb")
    if len(text) > 9:
        raise Invalid("monthly_mb: Input should be less than or equal to 999999999",
                      field="monthly_mb")  # fmt: skip
    if int(text) < 1:
        raise Invalid("monthly_mb: Input should be greater than or equal to 1", field="monthly_mb")
    return int(text) * MB


@router.post("/data-budgets")
def data_budget_form(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: Setter,
    board_id: Annotated[str, Form(max_length=64)] = "",
    site_id: Annotated[str, Form(max_length=20)] = "",
    monthly_mb: Annotated[str, Form(max_length=20)] = "",
    adaptive: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    """Set or remove a board's or a site's budget; back to where the form was."""
    if site_id and not site_id.isdigit():
        raise Invalid("site_id: not a site", field="site_id")
    try:
        body = BudgetIn(
            board_id=board_id or None,
            site_id=int(site_id) if site_id else None,
            monthly_bytes=_megabytes(monthly_mb),
            adaptive=adaptive in ("true", "on", "1"),
        )
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "budget"
        raise Invalid(f"{where}: {first['msg']}", field=where) from None
    actor = user.acting_from(client_address(request))
    done = service.set_budget(
        conn,
        user,
        actor,
        body,
        commands=ctx.commands,
        now=ctx.clock(),
        agent_version=ctx.settings.data_budget_agent_version,
    )
    conn.commit()
    back = f"/boards/{board_id}#data-usage" if board_id else "/data-usage"
    return redirect(back, flash="data_budget_set", count=len(done.boards_told))
