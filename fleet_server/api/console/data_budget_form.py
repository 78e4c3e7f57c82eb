"""The budget forms of the 4G data page and of the board page's data
section (``command.send``: the same service, audit and push to the boards
as ``PUT /api/v1/data-budgets``). A refused budget comes back on the page
it was typed on, the figure kept and the field named. Apart from
data_usage_page.py, which the board page imports: this imports the board
page back."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, place_search
from fleet_server.api.console.boards import board_view
from fleet_server.api.console.data_usage_page import data_view
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import form_for, redirect
from fleet_server.api.deps import Ctx, Db, client_address
from fleet_server.datausage import service
from fleet_server.datausage.schemas import BudgetIn
from fleet_server.errors import Invalid, RequestError

router = APIRouter(include_in_schema=False)

Setter = Annotated[Principal, Depends(form_for("command.send"))]
MB = 1_000_000
#: The most digits of a monthly budget in MB (the inputs' maxlength too).
MB_DIGITS = 9
LABELS = {"monthly_mb": "data.monthly_mb", "monthly_bytes": "data.monthly_mb"}


def megabytes(text: str) -> int | None:
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
    board_id: Annotated[str, Form(), Longest(64)] = "",
    site_id: Annotated[str, Form(), Longest(forms.PICKED)] = "",
    monthly_mb: Annotated[str, Form(), Longest(MB_DIGITS)] = "",
    adaptive: Annotated[str | None, Form(), Longest(10)] = None,
) -> Response:
    """Set or remove a board's or a site's budget; back to where the form was.
    ``site_id``: the data page's site picker (an id, a suggestion, a name)."""
    typed = {"monthly_mb": monthly_mb, "adaptive": adaptive or ""}
    site: int | None = None
    try:
        forms.fit({"board_id": board_id, **typed, "site_id": site_id})
        if site_id.strip():
            site = place_search.site_picked(conn, user, site_id, "site_id", boards=False)
        body = forms.checked(
            BudgetIn,
            board_id=board_id or None,
            site_id=site,
            monthly_bytes=megabytes(monthly_mb),
            adaptive=adaptive in ("true", "on", "1"),
        )
        done = service.set_budget(
            conn,
            user,
            user.acting_from(client_address(request)),
            body,
            commands=ctx.commands,
            now=ctx.clock(),
            agent_version=ctx.settings.data_budget_agent_version,
        )
    except RequestError as exc:
        if board_id and forms.field_of(exc) != "board_id":
            return forms.refused(
                conn, exc, typed,
                lambda refusal: board_view(request, conn, ctx.clock(), user, board_id, refusal),
                "data-usage", LABELS,
            )  # fmt: skip
        return forms.refused(
            conn, exc, {**typed, "site_id": site_id},
            lambda refusal: data_view(request, conn, ctx.clock(), user, site, None, refusal),
            "site-budget", LABELS,
        )  # fmt: skip
    conn.commit()
    back = f"/boards/{board_id}#data-usage" if board_id else "/data-usage"
    return redirect(back, flash="data_budget_set", count=len(done.boards_told))
