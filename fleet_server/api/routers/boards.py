"""/api/v1 boards: the list with connectivity state, and one board with its
latest readings, open incidents, cameras and connectivity history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, require
from fleet_server.api.pagination import Paging
from fleet_server.api.routers.incidents import IncidentOut, incidents_of_board
from fleet_server.boards.service import board_in_scope
from fleet_server.errors import Invalid, NotFound

router = APIRouter(tags=["boards"])

State = Literal["online", "offline", "lost", "stale", "unknown"]
Reader = Annotated[Principal, Depends(require("board.read"))]
Writer = Annotated[Principal, Depends(require("org.write"))]


class BoardOut(BaseModel):
    id: str
    name: str
    site_id: int
    site_code: str
    site_name: str
    site_name_en: str | None
    organisation_id: int
    organisation_code: str
    model: str | None
    serial: str | None
    installed_on: date | None
    enabled: bool
    state: str
    state_reason: str | None
    state_since: datetime | None
    last_seen_at: datetime | None
    open_incidents: int
    cameras: int


class Latest(BaseModel):
    measured_at: datetime
    received_at: datetime
    data: dict[str, Any]


class StatusChange(BaseModel):
    at: datetime
    state: str
    previous: str | None
    reason: str | None


class BoardCamera(BaseModel):
    camera_id: str
    name: str
    reachable: bool | None
    status: str | None
    latency_ms: float | None
    measured_at: datetime | None


class BoardDetail(BoardOut):
    heartbeat_interval_s: int
    latest: dict[str, Latest]
    camera_list: list[BoardCamera]
    incidents: list[IncidentOut]
    history: list[StatusChange]


class BoardPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=100)
    serial: str | None = Field(default=None, max_length=100)
    installed_on: date | None = None
    heartbeat_interval_s: int | None = Field(default=None, ge=5, le=86_400)


_BOARD_SELECT = """
    SELECT b.id, b.name, b.site_id, s.code AS site_code, s.name AS site_name,
           s.name_en AS site_name_en, s.organisation_id, o.code AS organisation_code,
           b.model, b.serial, b.installed_on,
           b.enabled, coalesce(st.state, 'unknown') AS state, st.reason AS state_reason,
           st.since AS state_since, st.last_seen_at, b.heartbeat_interval_s,
           (SELECT count(*) FROM incidents i
             WHERE i.board_id = b.id AND i.state <> 'resolved') AS open_incidents,
           (SELECT count(*) FROM cameras c WHERE c.board_id = b.id) AS cameras
    FROM boards b
    JOIN sites s ON s.id = b.site_id
    JOIN organisations o ON o.id = s.organisation_id
    LEFT JOIN board_status st ON st.board_id = b.id
"""


def list_boards(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    site_id: int | None = None,
    organisation_id: int | None = None,
    state: str | None = None,
    q: str | None = None,
    enabled: bool | None = None,
) -> Page[BoardOut]:
    scope, params = sites_condition(user.scope, "b.site_id")
    where = [scope]
    add_equal(
        where,
        params,
        (
            ("b.site_id", site_id),
            ("s.organisation_id", organisation_id),
            ("coalesce(st.state, 'unknown')", state),
            ("b.enabled", enabled),
        ),
    )
    if q:
        where.append("(b.id ILIKE %s OR b.name ILIKE %s OR s.name ILIKE %s)")
        params += [f"%{q}%"] * 3
    return fetch_page(
        conn,
        f"{_BOARD_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=(
            "id",
            "name",
            "site_name",
            "state",
            "state_since",
            "last_seen_at",
            "open_incidents",
            "installed_on",
        ),
        # Board ids start with their site code (lc-<site>-NN): the primary key
        # orders them by site and lets a page stop after its rows.
        default="id",
        tiebreak="id",
        model=BoardOut,
    )


def _board_row(conn: Conn, user: Principal, board_id: str) -> dict[str, Any]:
    scope, params = sites_condition(user.scope, "b.site_id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_BOARD_SELECT} WHERE b.id = %s AND {scope}", [board_id, *params]
        ).fetchone()
    if row is None:
        raise NotFound("board", board_id)
    return row


def get_board(conn: Conn, user: Principal, board_id: str, *, history: int = 50) -> BoardDetail:
    """One board as the caller may see it (404 outside the caller's scope)."""
    row = _board_row(conn, user, board_id)
    with conn.cursor(row_factory=dict_row) as cur:
        latest = {
            r["kind"]: Latest(
                measured_at=r["measured_at"], received_at=r["received_at"], data=r["data"]
            )
            for r in cur.execute(
                "SELECT kind, measured_at, received_at, data FROM board_latest"
                " WHERE device_id = %s",
                (board_id,),
            )
        }
        changes = [
            StatusChange(**r)
            for r in cur.execute(
                "SELECT at, state, previous, reason FROM board_status_history"
                " WHERE board_id = %s ORDER BY at DESC LIMIT %s",
                (board_id, history),
            )
        ]
        names = cur.execute(
            "SELECT camera_id, name FROM cameras WHERE board_id = %s ORDER BY camera_id",
            (board_id,),
        ).fetchall()
    seen = {
        c.get("camera_id"): c
        for c in (latest["camera"].data.get("cameras", []) if "camera" in latest else [])
    }
    measured = latest["camera"].measured_at if "camera" in latest else None
    cameras = []
    for n in names:
        c = seen.get(n["camera_id"])
        cameras.append(
            BoardCamera(
                camera_id=n["camera_id"],
                name=n["name"],
                reachable=c.get("reachable") if c else None,
                status=c.get("status") if c else None,
                latency_ms=c.get("latency_ms") if c else None,
                measured_at=measured if c else None,
            )
        )
    return BoardDetail(
        **row,
        latest=latest,
        camera_list=cameras,
        incidents=incidents_of_board(conn, user, board_id),
        history=changes,
    )


def connectivity(
    conn: Conn, user: Principal, board_id: str, *, since: datetime, until: datetime
) -> list[StatusChange]:
    """Connectivity changes in a period, oldest first, with the state the
    board was in when the period began as the first entry."""
    board_in_scope(conn, user.scope, board_id)
    with conn.cursor(row_factory=dict_row) as cur:
        before = cur.execute(
            "SELECT %s::timestamptz AS at, state, previous, reason FROM board_status_history"
            " WHERE board_id = %s AND at < %s ORDER BY at DESC LIMIT 1",
            (since, board_id, since),
        ).fetchone()
        rows = cur.execute(
            "SELECT at, state, previous, reason FROM board_status_history"
            " WHERE board_id = %s AND at >= %s AND at < %s ORDER BY at LIMIT 5000",
            (board_id, since, until),
        ).fetchall()
    return [StatusChange(**r) for r in ([before] if before else []) + rows]


@router.get("/boards", summary="boards the caller can see, with connectivity state")
def boards_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    state: Annotated[State | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100, description="id or name contains")] = None,
    enabled: Annotated[bool | None, Query()] = None,
) -> Page[BoardOut]:
    return list_boards(
        conn,
        user,
        paging,
        site_id=site_id,
        organisation_id=organisation_id,
        state=state,
        q=q,
        enabled=enabled,
    )


@router.get("/boards/{board_id}", summary="one board: latest state, readings, open incidents")
def boards_get(conn: Db, user: Reader, board_id: str) -> BoardDetail:
    return get_board(conn, user, board_id)


@router.get("/boards/{board_id}/connectivity", summary="connectivity history of a board")
def boards_connectivity(
    conn: Db,
    user: Reader,
    board_id: str,
    since: datetime,
    until: datetime,
) -> list[StatusChange]:
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("since/until: give a time zone (e.g. 2026-11-28T08:00:00+07:00)")
    if until <= since:
        raise Invalid("until must be after since")
    return connectivity(conn, user, board_id, since=since, until=until)


@router.patch("/boards/{board_id}", summary="change a board's inventory data (admin)")
def boards_patch(
    request: Request, conn: Db, user: Writer, board_id: str, body: BoardPatch
) -> BoardDetail:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("nothing to change: send at least one field")
    if changes.get("name", "") is None or changes.get("heartbeat_interval_s", 1) is None:
        raise Invalid("name and heartbeat_interval_s cannot be emptied")
    before = _board_row(conn, user, board_id)
    sets = ", ".join(f"{column} = %s" for column in changes)
    conn.execute(
        f"UPDATE boards SET {sets}, updated_at = now() WHERE id = %s",
        [*changes.values(), board_id],
    )
    after = get_board(conn, user, board_id)
    record(
        conn,
        user,
        request,
        "board.update",
        target_type="board",
        target_id=board_id,
        before={k: before[k] for k in changes},
        after={k: getattr(after, k) for k in changes},
    )
    return after
