"""/api/v1 maintenance windows: planned work on a site or a board. Incidents
are still recorded during a window; their notifications are held until it
ends (the engine reads the windows, ``alerts.maintenance_until``).

Operators and admins write the windows of their sites; every role with
``maintenance.read`` reads them. The functions above the routes are what the
web console calls."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from psycopg.rows import dict_row
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.errors import Conflict, Forbidden, Invalid, NotFound
from fleet_server.notifications.storage import release_held

router = APIRouter(tags=["maintenance windows"])

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
BOARD_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
Recurrence = Literal["none", "daily", "weekly"]
PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}

Reader = Annotated[Principal, Depends(require("maintenance.read"))]
Writer = Annotated[Principal, Depends(require("maintenance.write"))]
WindowId = Annotated[int, Path(ge=1, le=MAX_ID, description="maintenance window id")]


class WindowOut(BaseModel):
    id: int
    #: Exactly one of site_id and board_id is set.
    site_id: int | None
    board_id: str | None
    #: The site the window is at (the board's site for a board window).
    at_site_id: int
    starts_at: datetime
    ends_at: datetime
    #: daily / weekly windows repeat the first occurrence (starts_at..ends_at).
    recurrence: Recurrence
    reason: str
    created_by: str
    created_at: datetime
    #: An occurrence covers the present moment.
    active: bool
    #: End of the occurrence in progress, if any.
    current_ends_at: datetime | None


class WindowEnded(WindowOut):
    #: Held notifications made due now because nothing covers them any more.
    released_notifications: int


class WindowCreate(BaseModel):
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    board_id: str | None = Field(default=None, pattern=BOARD_ID)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    recurrence: Recurrence = "none"
    reason: str = Field(min_length=1, max_length=500, pattern=NO_NUL)

    @model_validator(mode="after")
    def _consistent(self) -> WindowCreate:
        if (self.site_id is None) == (self.board_id is None):
            raise ValueError("give either site_id (whole site) or board_id (one board)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        period = PERIODS.get(self.recurrence)
        if period is not None and self.ends_at - self.starts_at >= period:
            raise ValueError(f"a {self.recurrence} window must be shorter than its period")
        if not self.reason.strip():
            raise ValueError("reason must not be blank")
        return self


# -- data functions (the console calls these too) ---------------------------------------

_SELECT = """
    SELECT w.id, w.site_id, w.board_id, coalesce(w.site_id, b.site_id) AS at_site_id,
           w.starts_at, w.ends_at, w.recurrence, w.reason, w.created_by, w.created_at,
           maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s)
               IS NOT NULL AS active,
           maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s)
               AS current_ends_at
    FROM maintenance_windows w LEFT JOIN boards b ON b.id = w.board_id
"""
_AT_SITE = "coalesce(w.site_id, b.site_id)"


def _need(user: Principal, capability: str) -> None:
    if not user.can(capability):
        raise Forbidden(f"the {user.role} role may not do this ({capability})")


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
    _need(user, "maintenance.read")
    clause, scope_params = sites_condition(user.scope, _AT_SITE)
    where = [clause]
    params: list[Any] = [now, now, *scope_params]
    if site_id is not None:
        where.append(f"{_AT_SITE} = %s")
        params.append(site_id)
    if board_id is not None:
        where.append("(w.board_id = %s OR w.site_id = (SELECT site_id FROM boards WHERE id = %s))")
        params += [board_id, board_id]
    if active_at is not None:
        where.append(
            "maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s) IS NOT NULL"
        )
        params.append(active_at)
    if current is not None:
        where.append(
            f"maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s)"
            f" IS {'NOT ' if current else ''}NULL"
        )
        params.append(now)
    if recurrence is not None:
        where.append("w.recurrence = %s")
        params.append(recurrence)
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "starts_at", "ends_at", "created_at"),
        default="starts_at DESC",
        tiebreak="id DESC",
        model=WindowOut,
    )


def get_window(
    conn: Conn, user: Principal, window_id: int, *, now: datetime, lock: bool = False
) -> WindowOut:
    _need(user, "maintenance.read")
    clause, params = sites_condition(user.scope, _AT_SITE)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE w.id = %s AND {clause}{' FOR UPDATE OF w' if lock else ''}",
            [now, now, window_id, *params],
        ).fetchone()
    if row is None:
        raise NotFound("maintenance window", window_id)
    return WindowOut.model_validate(row)


def create_window(
    conn: Conn, user: Principal, request: Request, body: WindowCreate, *, now: datetime
) -> WindowOut:
    """Plan a window at a site or board the caller runs."""
    _need(user, "maintenance.write")
    clause, params = sites_condition(user.scope, "s.id")
    if body.board_id is not None:
        found = conn.execute(
            f"SELECT 1 FROM boards b JOIN sites s ON s.id = b.site_id WHERE b.id = %s AND {clause}",
            [body.board_id, *params],
        ).fetchone()
        if found is None:
            raise NotFound("board", body.board_id)
    else:
        found = conn.execute(
            f"SELECT 1 FROM sites s WHERE s.id = %s AND {clause}", [body.site_id, *params]
        ).fetchone()
        if found is None:
            raise NotFound("site", body.site_id)
    if body.recurrence == "none" and body.ends_at <= now:
        raise Invalid(
            "ends_at: a one-off window that is already over would hold nothing",
            errors=[{"field": "ends_at", "message": "in the past"}],
        )
    row = conn.execute(
        "INSERT INTO maintenance_windows (site_id, board_id, starts_at, ends_at, recurrence,"
        " reason, created_by, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            body.site_id,
            body.board_id,
            body.starts_at,
            body.ends_at,
            body.recurrence,
            body.reason.strip(),
            user.actor,
            now,
        ),
    ).fetchone()
    assert row is not None
    window = get_window(conn, user, int(row[0]), now=now)
    record(
        conn,
        user,
        request,
        "maintenance.create",
        target_type="maintenance_window",
        target_id=window.id,
        after=_audited(window),
    )
    return window


def _audited(window: WindowOut) -> dict[str, Any]:
    """What the audit row keeps: the window itself, not the derived fields."""
    return window.model_dump(mode="json", exclude={"active", "current_ends_at", "at_site_id"})


def _covered(conn: Conn, now: datetime, *, site_id: int, board_id: str | None) -> bool:
    """Some window still covers the board (or, with no board, the site itself)."""
    row = conn.execute(
        """SELECT EXISTS (
               SELECT 1 FROM maintenance_windows
               WHERE (site_id = %s OR (%s::text IS NOT NULL AND board_id = %s))
                 AND maintenance_occurrence_end(starts_at, ends_at, recurrence, %s) IS NOT NULL)""",
        (site_id, board_id, board_id, now),
    ).fetchone()
    return bool(row and row[0])


def _release(conn: Conn, window: WindowOut, now: datetime) -> int:
    """Notifications held for a window that no longer covers them are due
    now; those another window still covers stay held."""
    if window.board_id is not None:
        if _covered(conn, now, site_id=window.at_site_id, board_id=window.board_id):
            return 0
        return release_held(conn, now=now, board_id=window.board_id)
    if _covered(conn, now, site_id=window.at_site_id, board_id=None):
        return 0
    boards = [
        (str(r[0]), _covered(conn, now, site_id=window.at_site_id, board_id=str(r[0])))
        for r in conn.execute("SELECT id FROM boards WHERE site_id = %s", (window.at_site_id,))
    ]
    if not any(covered for _, covered in boards):
        return release_held(conn, now=now, site_id=window.at_site_id)
    # Some boards have their own window still: release the others one by one
    # (site-level notices keep their hold until it runs out).
    return sum(
        release_held(conn, now=now, site_id=window.at_site_id, board_id=board)
        for board, covered in boards
        if not covered
    )


def end_window(
    conn: Conn, user: Principal, request: Request, window_id: int, *, now: datetime
) -> WindowEnded:
    """End the window now. The occurrence in progress ends now and a daily or
    weekly window stops repeating (it is kept as its last occurrence, for
    the record); held notifications are released."""
    _need(user, "maintenance.write")
    before = get_window(conn, user, window_id, now=now, lock=True)
    length = before.ends_at - before.starts_at
    if before.current_ends_at is not None:
        starts = before.current_ends_at - length
        if starts >= now:
            raise Conflict(
                f"maintenance window {window_id} starts this very moment; delete it to cancel it"
            )
        ends = now
    elif before.starts_at > now:
        raise Conflict(
            f"maintenance window {window_id} has not started yet; delete it to cancel it"
        )
    elif before.recurrence == "none":
        raise Conflict(f"maintenance window {window_id} is already over")
    else:
        period = PERIODS[before.recurrence]
        starts = before.starts_at + ((now - before.starts_at) // period) * period
        ends = starts + length
    conn.execute(
        "UPDATE maintenance_windows SET starts_at = %s, ends_at = %s, recurrence = 'none'"
        " WHERE id = %s",
        (starts, ends, window_id),
    )
    released = _release(conn, before, now) if before.active else 0
    after = get_window(conn, user, window_id, now=now)
    record(
        conn,
        user,
        request,
        "maintenance.end",
        target_type="maintenance_window",
        target_id=window_id,
        before=_audited(before),
        after=_audited(after),
        detail=f"released {released} held notifications",
    )
    return WindowEnded(**after.model_dump(), released_notifications=released)


def delete_window(
    conn: Conn, user: Principal, request: Request, window_id: int, *, now: datetime
) -> int:
    """Remove the window (planned by mistake, or cancelled); held
    notifications are released. Returns how many."""
    _need(user, "maintenance.write")
    before = get_window(conn, user, window_id, now=now, lock=True)
    conn.execute("DELETE FROM maintenance_windows WHERE id = %s", (window_id,))
    released = _release(conn, before, now) if before.active else 0
    record(
        conn,
        user,
        request,
        "maintenance.delete",
        target_type="maintenance_window",
        target_id=window_id,
        before=_audited(before),
        detail=f"released {released} held notifications",
    )
    return released


# -- routes -------------------------------------------------------------------------


@router.get(
    "/maintenance-windows", summary="maintenance windows at the caller's sites, filtered and paged"
)
def windows_list(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    site_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="the site's windows and its boards'")
    ] = None,
    board_id: Annotated[
        str | None,
        Query(pattern=BOARD_ID, description="windows covering the board: its own and its site's"),
    ] = None,
    active_at: Annotated[
        AwareDatetime | None, Query(description="windows with an occurrence covering this time")
    ] = None,
    current: Annotated[bool | None, Query(description="true: covering now")] = None,
    recurrence: Recurrence | None = None,
) -> Page[WindowOut]:
    """Sort by id, starts_at, ends_at or created_at; default: latest start first."""
    return list_windows(
        conn,
        user,
        paging,
        now=now,
        site_id=site_id,
        board_id=board_id,
        active_at=active_at,
        current=current,
        recurrence=recurrence,
    )


@router.post(
    "/maintenance-windows",
    status_code=201,
    summary="plan a maintenance window at a site or a board",
    responses={404: {"description": "site or board not found"}},
)
def windows_create(
    request: Request, conn: Db, now: Now, user: Writer, body: WindowCreate
) -> WindowOut:
    return create_window(conn, user, request, body, now=now)


@router.get("/maintenance-windows/{window_id}", summary="one maintenance window")
def windows_get(conn: Db, now: Now, user: Reader, window_id: WindowId) -> WindowOut:
    return get_window(conn, user, window_id, now=now)


@router.post(
    "/maintenance-windows/{window_id}/end",
    summary="end the window now and release the notifications it held",
    responses={409: {"description": "the window has not started or is already over"}},
)
def windows_end(
    request: Request, conn: Db, now: Now, user: Writer, window_id: WindowId
) -> WindowEnded:
    return end_window(conn, user, request, window_id, now=now)


@router.delete(
    "/maintenance-windows/{window_id}",
    status_code=204,
    summary="delete the window and release the notifications it held",
)
def windows_delete(
    request: Request, conn: Db, now: Now, user: Writer, window_id: WindowId
) -> Response:
    delete_window(conn, user, request, window_id, now=now)
    return Response(status_code=204)
