"""Operations on boards, below the HTTP layer: the list with connectivity
state, one board with its latest readings, open incidents, cameras and
connectivity history, and changes to its inventory data."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from fleet_server.access import audit
from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Actor, Principal
from fleet_server.access.scope import Scope
from fleet_server.boards import storage
from fleet_server.boards.schemas import (
    BoardCamera,
    BoardDetail,
    BoardOut,
    BoardPatch,
    Latest,
    StatusChange,
)
from fleet_server.boards.storage import Conn
from fleet_server.errors import Invalid, NotFound
from fleet_server.incidents import storage as incidents

#: The board (and the scope that saw it) a request has already found in
#: scope, set only around code that checked it (:func:`checked_board`).
_CHECKED: ContextVar[tuple[Scope, str] | None] = ContextVar("checked_board", default=None)


@contextmanager
def checked_board(scope: Scope, board_id: str) -> Iterator[None]:
    """Within this block :func:`board_in_scope` trusts that ``scope`` sees
    ``board_id`` without asking the database again. Enter it only after a
    scoped read found the board (the board page: :func:`get_board`), so one
    page makes one scope check instead of one per service it calls. Any other
    board, or the same board under another scope, is still checked."""
    token = _CHECKED.set((scope, board_id))
    try:
        yield
    finally:
        _CHECKED.reset(token)


def board_in_scope(
    conn: Conn, scope: Scope, board_id: str, *, what: str = "board", ident: str | None = None
) -> None:
    """NotFound unless the board exists and ``scope`` sees its site (the same
    answer for both: no hint that another organisation's board exists)."""
    if _CHECKED.get() == (scope, board_id):
        return
    if not storage.board_visible(conn, scope, board_id):
        raise NotFound(what, ident or board_id)


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
    tag: str | None = None,
) -> CursorPage[BoardOut]:
    """The boards the caller can see (those with ``tag`` only, if given), one page."""
    user.need("board.read")
    return storage.board_page(
        conn,
        user.scope,
        paging,
        site_id=site_id,
        organisation_id=organisation_id,
        state=state,
        q=q,
        enabled=enabled,
        tag=tag,
    )


def _board_row(conn: Conn, scope: Scope, board_id: str) -> dict[str, Any]:
    row = storage.board_row(conn, scope, board_id)
    if row is None:
        raise NotFound("board", board_id)
    return row


def _cameras(names: list[dict[str, Any]], latest: dict[str, Latest]) -> list[BoardCamera]:
    """The board's cameras (``names``: camera_id, name) with what its latest
    camera message says of each."""
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
    return cameras


def get_board(conn: Conn, user: Principal, board_id: str, *, history: int = 50) -> BoardDetail:
    """One board as the caller may see it (404 outside the caller's scope):
    its row, latest messages, connectivity history and cameras in one
    statement, its open incidents in a second sent in the same round trip."""
    user.need("board.read")
    # The incidents' storage, not their service: that one needs board_in_scope.
    # Scoped itself, so reading them alongside the board's row shows nothing more.
    row, open_incidents = storage.board_detail(
        conn,
        user.scope,
        board_id,
        history,
        along=lambda: incidents.of_board(conn, user.scope, board_id),
    )
    if row is None:
        raise NotFound("board", board_id)
    latest = {
        r["kind"]: Latest(
            measured_at=r["measured_at"], received_at=r["received_at"], data=r["data"]
        )
        for r in row.pop("latest")
    }
    changes = [StatusChange(**r) for r in row.pop("changes")]
    cameras = _cameras(row.pop("camera_names"), latest)
    return BoardDetail(
        **row,
        latest=latest,
        camera_list=cameras,
        incidents=open_incidents,
        history=changes,
    )


def connectivity(
    conn: Conn, user: Principal, board_id: str, *, since: datetime, until: datetime
) -> list[StatusChange]:
    """Connectivity changes in a period, oldest first, with the state the
    board was in when the period began as the first entry."""
    user.need("board.read")
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("since/until: give a time zone (e.g. 2026-11-28T08:00:00+07:00)")
    if until <= since:
        raise Invalid("until must be after since")
    board_in_scope(conn, user.scope, board_id)
    return [
        StatusChange(**r) for r in storage.status_changes(conn, board_id, since=since, until=until)
    ]


def update_board(
    conn: Conn, user: Principal, actor: Actor, board_id: str, body: BoardPatch
) -> BoardDetail:
    """Change a board's inventory data (admins), audited with the values
    before and after."""
    user.need("org.write")
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise Invalid("nothing to change: send at least one field")
    if any(changes.get(k, "") is None for k in ("name", "heartbeat_interval_s", "tags")):
        raise Invalid("name, heartbeat_interval_s and tags cannot be null (tags: [] removes them)")
    before = _board_row(conn, user.scope, board_id)
    storage.update_board(conn, board_id, changes)
    after = get_board(conn, user, board_id)
    audit.record(
        conn,
        actor,
        "board.update",
        target_type="board",
        target_id=board_id,
        before={k: before[k] for k in changes},
        after={k: getattr(after, k) for k in changes},
    )
    return after
