"""Preventive maintenance schedules: every N days the engine opens a
preventive ticket for a board or a whole site, with the schedule's title,
priority and checklist (``engine.alerts.preventive_tickets``). Admins and
operators plan them at their sites (``maintenance.write``); every role that
reads maintenance windows reads them. Each change is audited."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fleet_server.access import audit
from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Invalid, NotFound
from fleet_server.localtime import LOCAL_TZ
from fleet_server.tickets import storage, storage_preventive
from fleet_server.tickets.schemas_preventive import ScheduleCreate, ScheduleOut, SchedulePatch
from fleet_server.tickets.storage import Conn

#: A first ticket further ahead than this is a typing error.
MAX_AHEAD = timedelta(days=730)


def list_schedules(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    site_id: int | None = None,
    board_id: str | None = None,
    due_by: date | None = None,
) -> Page[ScheduleOut]:
    """Schedules at the caller's sites, the next due first."""
    user.need("maintenance.read")
    return storage_preventive.list_schedules(
        conn, user.scope, paging, site_id=site_id, board_id=board_id, due_by=due_by
    )


def get_schedule(
    conn: Conn, user: Principal, schedule_id: int, *, lock: bool = False
) -> ScheduleOut:
    user.need("maintenance.read")
    found = storage_preventive.get_schedule(conn, user.scope, schedule_id, lock=lock)
    if found is None:
        raise NotFound("preventive schedule", schedule_id)
    return found


def _check_due(due_on: date, now: datetime) -> None:
    """Not before today (Vietnam date: the engine would open it at once
    for a missed day) nor years ahead."""
    today = now.astimezone(LOCAL_TZ).date()
    if due_on < today:
        raise Invalid(
            f"next_due_on: {due_on.isoformat()} is in the past (today is {today.isoformat()})",
            field="next_due_on",
        )
    if due_on > today + MAX_AHEAD:
        raise Invalid(
            f"next_due_on: {due_on.isoformat()} is more than {MAX_AHEAD.days} days ahead",
            field="next_due_on",
        )


def create_schedule(
    conn: Conn, user: Principal, actor: Actor, body: ScheduleCreate, *, now: datetime
) -> ScheduleOut:
    """Plan a schedule for a board or a site the caller runs."""
    user.need("maintenance.write")
    if body.board_id is not None:
        if storage.board_site(conn, user.scope, body.board_id) is None:
            raise NotFound("board", body.board_id)
    elif body.site_id is None or not storage.site_visible(conn, user.scope, body.site_id):
        raise NotFound("site", body.site_id)
    _check_due(body.next_due_on, now)
    values = body.model_dump()
    values["title"] = body.title.strip()
    values["checklist"] = body.checklist.strip()
    schedule_id = storage_preventive.insert_schedule(conn, values, actor=actor.username, now=now)
    created = get_schedule(conn, user, schedule_id)
    audit.record(
        conn,
        actor,
        "preventive.create",
        target_type="preventive_schedule",
        target_id=schedule_id,
        after=_audited(created),
    )
    return created


def update_schedule(
    conn: Conn,
    user: Principal,
    actor: Actor,
    schedule_id: int,
    body: SchedulePatch,
    *,
    now: datetime,
) -> ScheduleOut:
    """Change the title, checklist, priority, interval or next due day."""
    user.need("maintenance.write")
    before = get_schedule(conn, user, schedule_id, lock=True)
    changes = body.model_dump(include=body.model_fields_set)
    if "next_due_on" in changes and changes["next_due_on"] != before.next_due_on:
        _check_due(changes["next_due_on"], now)
    for name in ("title", "checklist"):
        if isinstance(changes.get(name), str):
            changes[name] = changes[name].strip()
    storage_preventive.update_schedule(conn, schedule_id, changes, actor=actor.username, now=now)
    after = get_schedule(conn, user, schedule_id)
    audit.record(
        conn,
        actor,
        "preventive.update",
        target_type="preventive_schedule",
        target_id=schedule_id,
        before=_audited(before),
        after=_audited(after),
    )
    return after


def delete_schedule(conn: Conn, user: Principal, actor: Actor, schedule_id: int) -> None:
    """Stop the schedule; tickets it opened stay."""
    user.need("maintenance.write")
    before = get_schedule(conn, user, schedule_id, lock=True)
    storage_preventive.delete_schedule(conn, schedule_id)
    audit.record(
        conn,
        actor,
        "preventive.delete",
        target_type="preventive_schedule",
        target_id=schedule_id,
        before=_audited(before),
    )


def _audited(schedule: ScheduleOut) -> dict[str, Any]:
    """The schedule itself, not the names joined for display."""
    return schedule.model_dump(
        mode="json", exclude={"site_name", "site_name_en", "board_name", "at_site_id"}
    )
