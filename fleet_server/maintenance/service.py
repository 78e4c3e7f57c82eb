"""Operations on maintenance windows. Operators and admins write the windows
of their sites; every role with ``maintenance.read`` reads them. Ending or
deleting a window releases the notifications it held."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet_server.access import audit
from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.errors import Invalid, NotFound
from fleet_server.maintenance import storage
from fleet_server.maintenance.models import ended_now, occurrence_end
from fleet_server.maintenance.schemas import WindowCreate, WindowEnded, WindowOut
from fleet_server.maintenance.storage import Conn
from fleet_server.notifications.storage import release_held


def list_windows(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    now: datetime,
    site_id: int | None = None,
    board_id: str | None = None,
    active_at: datetime | None = None,
    current: bool | None = None,
    recurrence: str | None = None,
) -> Page[WindowOut]:
    """Windows at the caller's sites. ``site_id``: the site's windows and its
    boards'; ``board_id``: the windows covering that board (its own and its
    site's); ``active_at``/``current``: covering that moment / now."""
    user.need("maintenance.read")
    return storage.list_windows(
        conn,
        user.scope,
        paging,
        now=now,
        site_id=site_id,
        board_id=board_id,
        active_at=active_at,
        current=current,
        recurrence=recurrence,
    )


def get_window(
    conn: Conn, user: Principal, window_id: int, *, now: datetime, lock: bool = False
) -> WindowOut:
    user.need("maintenance.read")
    window = storage.get_window(conn, user.scope, window_id, now=now, lock=lock)
    if window is None:
        raise NotFound("maintenance window", window_id)
    return window


def create_window(
    conn: Conn, user: Principal, actor: Actor, body: WindowCreate, *, now: datetime
) -> WindowOut:
    """Plan a window at a site or board the caller runs."""
    user.need("maintenance.write")
    if body.board_id is not None:
        board_in_scope(conn, user.scope, body.board_id)
    elif not storage.site_visible(conn, user.scope, body.site_id):
        raise NotFound("site", body.site_id)
    if body.recurrence == "none" and body.ends_at <= now:
        raise Invalid(
            "ends_at: a one-off window that is already over would hold nothing",
            errors=[{"field": "ends_at", "message": "in the past"}],
        )
    window_id = storage.insert(
        conn,
        site_id=body.site_id,
        board_id=body.board_id,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        recurrence=body.recurrence,
        reason=body.reason.strip(),
        created_by=user.actor,
        now=now,
    )
    window = get_window(conn, user, window_id, now=now)
    audit.record(
        conn,
        actor,
        "maintenance.create",
        target_type="maintenance_window",
        target_id=window.id,
        after=_audited(window),
    )
    return window


def _audited(window: WindowOut) -> dict[str, Any]:
    """What the audit row keeps: the window itself, not the derived fields."""
    return window.model_dump(mode="json", exclude={"active", "current_ends_at", "at_site_id"})


def _release(conn: Conn, window: WindowOut, now: datetime) -> int:
    """Notifications held for a window that no longer covers them are due
    now; those another window still covers stay held."""
    site_id = window.at_site_id
    if window.board_id is not None:
        if storage.covered(conn, now, site_id=site_id, board_id=window.board_id):
            return 0
        return release_held(conn, now=now, board_id=window.board_id)
    if storage.covered(conn, now, site_id=site_id, board_id=None):
        return 0
    boards = [
        (board, storage.covered(conn, now, site_id=site_id, board_id=board))
        for board in storage.site_boards(conn, site_id)
    ]
    if not any(covered for _, covered in boards):
        return release_held(conn, now=now, site_id=site_id)
    # Some boards have their own window still: release the others one by one
    # (site-level notices keep their hold until it runs out).
    return sum(
        release_held(conn, now=now, site_id=site_id, board_id=board)
        for board, covered in boards
        if not covered
    )


def end_window(
    conn: Conn, user: Principal, actor: Actor, window_id: int, *, now: datetime
) -> WindowEnded:
    """End the window now. The occurrence in progress ends now and a daily or
    weekly window stops repeating (it is kept as its last occurrence, for
    the record); held notifications are released."""
    user.need("maintenance.write")
    before = get_window(conn, user, window_id, now=now, lock=True)
    starts, ends = ended_now(
        window_id,
        starts_at=before.starts_at,
        ends_at=before.ends_at,
        recurrence=before.recurrence,
        current_ends_at=before.current_ends_at,
        now=now,
    )
    storage.set_last_occurrence(conn, window_id, starts, ends)
    released = _release(conn, before, now) if before.active else 0
    after = get_window(conn, user, window_id, now=now)
    audit.record(
        conn,
        actor,
        "maintenance.end",
        target_type="maintenance_window",
        target_id=window_id,
        before=_audited(before),
        after=_audited(after),
        detail=f"released {released} held notifications",
    )
    return WindowEnded(**after.model_dump(), released_notifications=released)


def delete_window(
    conn: Conn, user: Principal, actor: Actor, window_id: int, *, now: datetime
) -> int:
    """Remove the window (planned by mistake, or cancelled); held
    notifications are released. Returns how many."""
    user.need("maintenance.write")
    before = get_window(conn, user, window_id, now=now, lock=True)
    storage.delete(conn, window_id)
    released = _release(conn, before, now) if before.active else 0
    audit.record(
        conn,
        actor,
        "maintenance.delete",
        target_type="maintenance_window",
        target_id=window_id,
        before=_audited(before),
        detail=f"released {released} held notifications",
    )
    return released


def maintenance_until(
    conn: Conn, board_id: str | None, site_id: int | None, now: datetime
) -> datetime | None:
    """End of the maintenance window covering the board or site now, if any
    (one-off, or daily/weekly repeats of the first occurrence): how long the
    engine holds an incident's notifications."""
    ends = [
        end
        for first_start, first_end, recurrence in storage.started_windows(
            conn, board_id, site_id, now
        )
        if (end := occurrence_end(first_start, first_end, recurrence, now)) is not None
    ]
    return max(ends) if ends else None
