"""Preventive maintenance schedules in the console
(``/maintenance/preventive``): each schedule with its next due day, a form
to plan one for a board or a whole site (title, checklist, priority, every
N days, first day), and on each a form to change it or stop it. The same
services as ``/api/v1/preventive-schedules``: readers of maintenance see
them, ``maintenance.write`` (operators, admins) changes them. On the due day
the engine opens a preventive ticket with the checklist as its description."""

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
    day,
    whole,
)
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import RequestError
from fleet_server.localtime import LOCAL_TZ
from fleet_server.tickets import service_preventive as service
from fleet_server.tickets.schemas_preventive import (
    BOARD_ID,
    MAX_EVERY_DAYS,
    MAX_ID,
    ScheduleCreate,
    SchedulePatch,
)

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("maintenance.read"))]
Writer = Annotated[Principal, Depends(form_for("maintenance.write"))]
ScheduleId = Annotated[int, Path(ge=1, le=MAX_ID)]
PRIORITIES = ("urgent", "high", "normal", "low")
PAGE_SIZE = 50
Text = Annotated[str, Form(), Longest(4000)]
Short = Annotated[str, Form(), Longest(200)]


def _schedule_form(
    title: Short = "",
    checklist: Text = "",
    priority: Annotated[str, Form(), Longest(20)] = "normal",
    every_days: Annotated[str, Form(), Longest(10, most=MAX_EVERY_DAYS)] = "",
    next_due_on: Annotated[str, Form(), Longest(20)] = "",
) -> dict[str, str]:
    """The fields a new schedule and a change of one share, as typed."""
    return {
        "title": title,
        "checklist": checklist,
        "priority": priority,
        "every_days": every_days,
        "next_due_on": next_due_on,
    }


ScheduleForm = Annotated[dict[str, str], Depends(_schedule_form)]


def _values(form: dict[str, str]) -> dict[str, object]:
    """The schedule form as the API's fields."""
    return {
        **form,
        "every_days": whole(form["every_days"], "every_days"),
        "next_due_on": day(form["next_due_on"], "next_due_on"),
    }


@router.get("/maintenance/preventive")
def preventive_page(
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
    site_id: int | None = None,
    board_id: str | None = None,
    offset: int = 0,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The schedules and the forms; after a refusal (``refusal``), with
    what was typed and why."""
    page = service.list_schedules(
        conn,
        user,
        ListParams(limit=PAGE_SIZE, offset=offset, sort=None),
        site_id=site_id,
        board_id=board_id,
    )
    today = now.astimezone(LOCAL_TZ).date()
    return render(
        request,
        "preventive.html",
        user,
        {
            "page": page,
            "site_id": site_id,
            "board_id": board_id,
            "places": place_search.shortlist(conn, user, site_id=site_id)
            if user.can("maintenance.write")
            else [],
            "chosen": (refusal or {}).get("form", {}).get("where") or chosen(site_id, board_id),
            "priorities": PRIORITIES,
            "today": today,
            "default_due": today + timedelta(days=7),
            **(refusal or {}),
        },
    )


#: The form's fields -> the label they are shown under.
LABELS = {
    "where": "ops.where",
    "site_id": "ops.where",
    "board_id": "ops.where",
    "title": "preventive.what",
    "checklist": "preventive.checklist",
    "priority": "ticket.priority",
    "every_days": "preventive.every_days",
    "next_due_on": "preventive.next_due",
    "confirm": "preventive.stop_confirm",
}


def _refused(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    exc: RequestError,
    typed: dict[str, Any],
    where: str | None,
) -> Response:
    return forms.refused(
        conn, exc, typed, lambda ctx: _page(request, conn, now, user, refusal=ctx), where, LABELS
    )


@router.post("/maintenance/preventive")
def create_schedule(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    form: ScheduleForm,
    where_: WhereField = "",
) -> Response:
    typed = {**form, "where": where_}
    try:
        forms.fit(typed)
        site_id, board_id = place_search.resolve(conn, user, where_)
        body = checked(ScheduleCreate, site_id=site_id, board_id=board_id, **_values(form))
        actor = user.acting_from(client_address(request))
        service.create_schedule(conn, user, actor, body, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, typed, "plan")
    conn.commit()
    return redirect("/maintenance/preventive", flash="preventive_created")


@router.post("/maintenance/preventive/{schedule_id}")
def update_schedule(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    schedule_id: ScheduleId,
    form: ScheduleForm,
) -> Response:
    try:
        forms.fit(form)
        body = checked(SchedulePatch, **_values(form))
        actor = user.acting_from(client_address(request))
        service.update_schedule(conn, user, actor, schedule_id, body, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, form, f"schedule-{schedule_id}")
    conn.commit()
    return redirect(f"/maintenance/preventive#schedule-{schedule_id}", flash="preventive_saved")


@router.post("/maintenance/preventive/{schedule_id}/delete")
def delete_schedule(
    request: Request,
    conn: Db,
    now: Now,
    user: Writer,
    schedule_id: ScheduleId,
    confirm: ConfirmField = "",
) -> Response:
    try:
        forms.fit({"confirm": confirm})
        confirmed(confirm, "tick the box to stop the schedule")
        actor = user.acting_from(client_address(request))
        service.delete_schedule(conn, user, actor, schedule_id)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, {}, f"schedule-{schedule_id}")
    conn.commit()
    return redirect("/maintenance/preventive", flash="preventive_deleted")
