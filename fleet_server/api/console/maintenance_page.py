"""Maintenance windows in the console (``/maintenance``): the windows in
force and all the others (of one site or board when asked), a form to plan
one at a site or a board (times in Vietnam time, one-off, daily or weekly),
and, on each, end it now or cancel it. The same services as
``/api/v1/maintenance-windows``: every role that reads maintenance sees the
list, ``maintenance.write`` (operators, admins) changes it; incidents are
still recorded during a window, their notices held until it ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, place_search
from fleet_server.api.console.forms import (
    ConfirmField,
    Longest,
    WhereField,
    checked,
    chosen,
    confirmed,
    local_input,
    local_time,
)
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import RequestError
from fleet_server.maintenance import service
from fleet_server.maintenance.schemas import BOARD_ID, MAX_ID, WindowCreate

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("maintenance.read"))]
Writer = Annotated[Principal, Depends(form_for("maintenance.write"))]
WindowId = Annotated[int, Path(ge=1, le=MAX_ID)]
RECURRENCES = ("none", "daily", "weekly")
PAGE_SIZE = 50


@router.get("/maintenance")
def maintenance_page(
    request: Request,
    conn: Db,
    now: Now,
    user: Reader,
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    board_id: Annotated[str | None, Query(pattern=BOARD_ID)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    return _page(request, conn, now, user, site_id, board_id, offset)


def _page(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    site_id: int | None,
    board_id: str | None,
    offset: int = 0,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The windows and the form; after a refusal (``refusal``), with what
    was typed and why."""
    current = service.list_windows(
        conn,
        user,
        ListParams(limit=100, offset=0, sort="ends_at"),
        now=now,
        site_id=site_id,
        board_id=board_id,
        current=True,
    )
    others = service.list_windows(
        conn,
        user,
        ListParams(limit=PAGE_SIZE, offset=offset, sort="-starts_at"),
        now=now,
        site_id=site_id,
        board_id=board_id,
        current=False,
    )
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=5)
    named = {w.site_id for w in [*current.items, *others.items] if w.site_id} | (
        {site_id} if site_id else set()
    )
    return render(
        request,
        "maintenance.html",
        user,
        {
            "current": current.items,
            "page": others,
            "site_id": site_id,
            "board_id": board_id,
            "places": place_search.shortlist(conn, user, site_id=site_id),
            "sites": place_search.sites_named(conn, user, named),
            "chosen": (refusal or {}).get("form", {}).get("where") or chosen(site_id, board_id),
            "recurrences": RECURRENCES,
            "default_start": local_input(start),
            "default_end": local_input(start + timedelta(hours=2)),
            **(refusal or {}),
        },
    )


#: The form's fields -> the label they are shown under.
LABELS = {
    "where": "ops.where",
    "site_id": "ops.where",
    "board_id": "ops.where",
    "starts_at": "maintenance.starts_at",
    "ends_at": "maintenance.ends_at",
    "recurrence": "maintenance.recurrence",
    "reason": "maintenance.reason",
    "confirm": "maintenance.cancel_confirm",
}


def _refused(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    exc: RequestError,
    typed: dict[str, Any],
    where: str | None = None,
) -> Response:
    """The list the form was on again, with why it was refused."""
    back_site, back_board = typed.get("back_site", ""), typed.get("back_board", "")
    site_id = int(back_site) if back_site.isdigit() and int(back_site) <= MAX_ID else None
    board_id = back_board if _back(back_site, back_board).endswith(f"={back_board}") else None
    return forms.refused(
        conn,
        exc,
        typed,
        lambda ctx: _page(request, conn, now, user, site_id, board_id, 0, ctx),
        where,
        LABELS,
    )


def _back(
    back_site: Annotated[str, Form(), Longest(20)] = "",
    back_board: Annotated[str, Form(), Longest(64)] = "",
) -> str:
    """The list the form was on (one site's or board's, or all)."""
    if back_board and len(back_board) <= 64 and back_board.replace("-", "").isalnum():
        return f"/maintenance?board_id={back_board}"
    return f"/maintenance?site_id={back_site}" if back_site.isdigit() else "/maintenance"


#: Where to send the browser after a form: the list it was on.
Back = Annotated[str, Depends(_back)]


@router.post("/maintenance")
def create_window(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    back: Back,
    where_: WhereField = "",
    starts_at: Annotated[str, Form(), Longest(40)] = "",
    ends_at: Annotated[str, Form(), Longest(40)] = "",
    recurrence: Annotated[str, Form(), Longest(20)] = "none",
    reason: Annotated[str, Form(), Longest(500)] = "",
    back_site: Annotated[str, Form(), Longest(20)] = "",
    back_board: Annotated[str, Form(), Longest(64)] = "",
) -> Response:
    typed = {
        "where": where_,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "recurrence": recurrence,
        "reason": reason,
        "back_site": back_site,
        "back_board": back_board,
    }
    try:
        forms.fit(typed)
        site_id, board_id = place_search.resolve(conn, user, where_)
        body = checked(
            WindowCreate,
            site_id=site_id,
            board_id=board_id,
            starts_at=local_time(starts_at, "starts_at"),
            ends_at=local_time(ends_at, "ends_at"),
            recurrence=recurrence,
            reason=reason,
        )
        actor = user.acting_from(client_address(request))
        service.create_window(conn, user, actor, body, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, typed, "plan")
    conn.commit()
    return redirect(back, flash="maintenance_created")


@router.post("/maintenance/{window_id}/end")
def end_window(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    window_id: WindowId,
    back: Back,
    back_site: Annotated[str, Form(), Longest(20)] = "",
    back_board: Annotated[str, Form(), Longest(64)] = "",
) -> Response:
    typed = {"back_site": back_site, "back_board": back_board}
    try:
        forms.fit(typed)
        actor = user.acting_from(client_address(request))
        service.end_window(conn, user, actor, window_id, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, typed)
    conn.commit()
    return redirect(back, flash="maintenance_ended")


@router.post("/maintenance/{window_id}/delete")
def delete_window(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    window_id: WindowId,
    back: Back,
    confirm: ConfirmField = "",
    back_site: Annotated[str, Form(), Longest(20)] = "",
    back_board: Annotated[str, Form(), Longest(64)] = "",
) -> Response:
    typed = {"back_site": back_site, "back_board": back_board}
    try:
        forms.fit({"confirm": confirm, **typed})
        confirmed(confirm, "tick the box to cancel the window")
        actor = user.acting_from(client_address(request))
        service.delete_window(conn, user, actor, window_id, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, typed)
    conn.commit()
    return redirect(back, flash="maintenance_deleted")
