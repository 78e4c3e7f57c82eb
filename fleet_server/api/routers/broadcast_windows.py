"""/api/v1 broadcast windows (Điều 8.1): a site's morning, afternoon and
evening windows in local time, and a board's own windows overriding its
site's. Anyone who sees the site or board reads them; administrators and the
operators of the site set them (``broadcast_window.write``). Every change is
audited with the windows before and after (docs/content.md)."""

from __future__ import annotations

from datetime import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, require
from fleet_server.api.problems import Problem
from fleet_server.boards.service import board_in_scope
from fleet_server.broadcast import storage
from fleet_server.broadcast.windows import Window, WindowError, check, notes
from fleet_server.errors import NotFound

router = APIRouter(tags=["broadcast windows"])

Reader = Annotated[Principal, Depends(require("board.read"))]
Writer = Annotated[Principal, Depends(require("broadcast_window.write"))]
SiteId = Annotated[int, Path(ge=1, le=2**62)]
BoardId = Annotated[str, Path(min_length=1, max_length=64)]
Part = Literal["morning", "afternoon", "evening"]


class WindowIO(BaseModel):
    part: Part
    starts_at: time = Field(description="local time (Asia/Ho_Chi_Minh), e.g. 06:30")
    ends_at: time = Field(description="local time, after starts_at")


class WindowsIn(BaseModel):
    windows: list[WindowIO] = Field(max_length=3, description="at most one per part")


class SiteWindowsOut(BaseModel):
    site_id: int
    windows: list[WindowIO]
    #: what falls short of Điều 8.1 (3 h morning + 3 h afternoon)
    notes: list[str]


class BoardWindowsOut(BaseModel):
    board_id: str
    site_id: int
    #: where the windows in force come from
    source: Literal["board", "site", "none"]
    #: the windows in force: the board's own if it has any, else its site's
    windows: list[WindowIO]
    site_windows: list[WindowIO]
    board_windows: list[WindowIO]
    notes: list[str]


def _io(windows: list[Window]) -> list[WindowIO]:
    return [
        WindowIO.model_validate({"part": w.part, "starts_at": w.starts_at, "ends_at": w.ends_at})
        for w in windows
    ]


def _audit_view(windows: list[Window]) -> dict[str, Any]:
    return {
        "windows": [
            {"part": w.part, "starts_at": w.starts_at.isoformat(), "ends_at": w.ends_at.isoformat()}
            for w in windows
        ]
    }


def _checked(body: WindowsIn) -> list[Window]:
    try:
        return check([Window(w.part, w.starts_at, w.ends_at) for w in body.windows])
    except WindowError as exc:
        raise Problem(
            422,
            exc.detail,
            kind="validation",
            title="Invalid request",
            errors=[{"field": exc.field, "message": exc.detail}],
        ) from None


def _site_in_scope(conn: Conn, user: Principal, site_id: int) -> None:
    scope, params = sites_condition(user.scope, "s.id")
    found = conn.execute(
        f"SELECT 1 FROM sites s WHERE s.id = %s AND {scope}", [site_id, *params]
    ).fetchone()
    if found is None:
        raise NotFound("site", site_id)


def site_windows(conn: Conn, user: Principal, site_id: int) -> SiteWindowsOut:
    _site_in_scope(conn, user, site_id)
    windows = storage.site_windows(conn, site_id)
    return SiteWindowsOut(site_id=site_id, windows=_io(windows), notes=notes(windows))


def board_windows(conn: Conn, user: Principal, board_id: str) -> BoardWindowsOut:
    board_in_scope(conn, user.scope, board_id)
    row = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone()
    assert row is not None
    site_id = int(row[0])
    own = storage.board_windows(conn, board_id)
    site = storage.site_windows(conn, site_id)
    in_force = own or site
    return BoardWindowsOut(
        board_id=board_id,
        site_id=site_id,
        source="board" if own else "site" if site else "none",
        windows=_io(in_force),
        site_windows=_io(site),
        board_windows=_io(own),
        notes=notes(in_force),
    )


def set_site_windows(
    conn: Conn, user: Principal, request: Request, site_id: int, body: WindowsIn
) -> SiteWindowsOut:
    """Replace a site's windows (an empty list leaves the site without any)."""
    _site_in_scope(conn, user, site_id)
    windows = _checked(body)
    before = storage.site_windows(conn, site_id)
    storage.replace(conn, windows, site_id=site_id)
    record(
        conn,
        user,
        request,
        "broadcast_windows.set",
        target_type="site",
        target_id=site_id,
        before=_audit_view(before),
        after=_audit_view(windows),
    )
    return site_windows(conn, user, site_id)


def set_board_windows(
    conn: Conn, user: Principal, request: Request, board_id: str, body: WindowsIn | None
) -> BoardWindowsOut:
    """Give a board its own windows, or (``body`` None) drop them so it
    follows its site's again."""
    board_in_scope(conn, user.scope, board_id)
    windows = [] if body is None else _checked(body)
    if body is not None and not windows:
        raise Problem(
            422,
            "windows: a board's own windows need at least one window; delete them to follow"
            " the site's windows",
            kind="validation",
            title="Invalid request",
            errors=[{"field": "windows", "message": "at least one window"}],
        )
    before = storage.board_windows(conn, board_id)
    storage.replace(conn, windows, board_id=board_id)
    record(
        conn,
        user,
        request,
        "broadcast_windows.set" if body is not None else "broadcast_windows.delete",
        target_type="board",
        target_id=board_id,
        before=_audit_view(before),
        after=_audit_view(windows),
    )
    return board_windows(conn, user, board_id)


@router.get("/sites/{site_id}/broadcast-windows", summary="a site's broadcast windows")
def site_get(conn: Db, user: Reader, site_id: SiteId) -> SiteWindowsOut:
    return site_windows(conn, user, site_id)


@router.put(
    "/sites/{site_id}/broadcast-windows",
    summary="replace a site's broadcast windows (local time)",
    responses={422: {"description": "an end not after its start, overlapping windows"}},
)
def site_put(
    request: Request, conn: Db, user: Writer, site_id: SiteId, body: WindowsIn
) -> SiteWindowsOut:
    return set_site_windows(conn, user, request, site_id, body)


@router.get(
    "/boards/{board_id}/broadcast-windows",
    summary="a board's windows in force: its own, else its site's",
)
def board_get(conn: Db, user: Reader, board_id: BoardId) -> BoardWindowsOut:
    return board_windows(conn, user, board_id)


@router.put(
    "/boards/{board_id}/broadcast-windows",
    summary="give a board its own broadcast windows, replacing its site's for it",
    responses={422: {"description": "an end not after its start, overlapping windows"}},
)
def board_put(
    request: Request, conn: Db, user: Writer, board_id: BoardId, body: WindowsIn
) -> BoardWindowsOut:
    return set_board_windows(conn, user, request, board_id, body)


@router.delete(
    "/boards/{board_id}/broadcast-windows",
    summary="drop a board's own windows: it follows its site's again",
)
def board_delete(request: Request, conn: Db, user: Writer, board_id: BoardId) -> BoardWindowsOut:
    return set_board_windows(conn, user, request, board_id, None)
