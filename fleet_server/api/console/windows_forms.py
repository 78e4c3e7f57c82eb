"""The broadcast windows' forms on the site and board pages, for
administrators and the site's operators: the same checks and audit rows as
``PUT /api/v1/sites|boards/{id}/broadcast-windows``; a refused form comes back
on its page with what was typed and why."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.boards import board_view
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.overview import site_view
from fleet_server.api.console.web import form_for, redirect
from fleet_server.api.console.windows import (
    WINDOW_LABELS,
    typed_windows,
    windows_from_form,
    windows_refusal,
)
from fleet_server.api.deps import Db, Now, client_address
from fleet_server.broadcast.service import set_board_windows, set_site_windows
from fleet_server.errors import RequestError

router = APIRouter(include_in_schema=False)

WindowWriter = Annotated[Principal, Depends(form_for("broadcast_window.write"))]
TimeField = Annotated[str, Form(), Longest(8)]
BoardId = Annotated[str, Path(max_length=64, pattern=DEVICE_ID_PATTERN)]


@router.post("/sites/{site_id}/broadcast-windows")
def site_windows_form(
    request: Request,
    conn: Db,
    now: Now,
    user: WindowWriter,
    site_id: Annotated[int, Path(ge=1, le=2**62)],
    morning_starts_at: TimeField = "",
    morning_ends_at: TimeField = "",
    afternoon_starts_at: TimeField = "",
    afternoon_ends_at: TimeField = "",
    evening_starts_at: TimeField = "",
    evening_ends_at: TimeField = "",
) -> Response:
    values = {
        "morning": (morning_starts_at, morning_ends_at),
        "afternoon": (afternoon_starts_at, afternoon_ends_at),
        "evening": (evening_starts_at, evening_ends_at),
    }
    body = None
    try:
        forms.fit(typed_windows(values))
        body = windows_from_form(values)
        with windows_refusal(body):
            set_site_windows(conn, user, user.acting_from(client_address(request)), site_id, body)
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            typed_windows(values),
            lambda ctx: site_view(request, conn, now, user, site_id, ctx),
            "windows",
            WINDOW_LABELS,
        )
    conn.commit()
    return redirect(f"/sites/{site_id}#windows")


@router.post("/boards/{board_id}/broadcast-windows")
def board_windows_form(
    request: Request,
    conn: Db,
    now: Now,
    user: WindowWriter,
    board_id: BoardId,
    morning_starts_at: TimeField = "",
    morning_ends_at: TimeField = "",
    afternoon_starts_at: TimeField = "",
    afternoon_ends_at: TimeField = "",
    evening_starts_at: TimeField = "",
    evening_ends_at: TimeField = "",
    reset: Annotated[str, Form(), Longest(10)] = "",
) -> Response:
    """Set the board's own windows, or (the reset button) drop them."""
    values = {
        "morning": (morning_starts_at, morning_ends_at),
        "afternoon": (afternoon_starts_at, afternoon_ends_at),
        "evening": (evening_starts_at, evening_ends_at),
    }
    try:
        forms.fit({**typed_windows(values), "reset": reset})
        body = None if reset else windows_from_form(values)
        with windows_refusal(body):
            set_board_windows(conn, user, user.acting_from(client_address(request)), board_id, body)
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            typed_windows(values),
            lambda ctx: board_view(request, conn, now, user, board_id, ctx),
            "windows",
            {**WINDOW_LABELS, "reset": "windows.reset"},
        )
    conn.commit()
    return redirect(f"/boards/{board_id}#windows")
