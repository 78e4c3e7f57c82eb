"""Operations on broadcast windows (Điều 8.1): anyone who sees the site or
board reads them (``board.read``); administrators and the operators of the
site set them (``broadcast_window.write``). Every change is audited with the
windows before and after (docs/content.md). The API and the console's forms
both come here."""

from __future__ import annotations

from typing import Any

from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.broadcast import storage
from fleet_server.broadcast.models import Window, WindowError, check, notes
from fleet_server.broadcast.schemas import BoardWindowsOut, SiteWindowsOut, WindowIO, WindowsIn
from fleet_server.broadcast.storage import Conn
from fleet_server.errors import NotFound


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
    """The windows sorted, or :class:`WindowError` (422) naming the bad field."""
    return check([Window(w.part, w.starts_at, w.ends_at) for w in body.windows])


def _site_in_scope(conn: Conn, user: Principal, site_id: int) -> None:
    if not storage.site_visible(conn, user.scope, site_id):
        raise NotFound("site", site_id)


def site_windows(conn: Conn, user: Principal, site_id: int) -> SiteWindowsOut:
    user.need("board.read")
    _site_in_scope(conn, user, site_id)
    windows = storage.site_windows(conn, site_id)
    return SiteWindowsOut(site_id=site_id, windows=_io(windows), notes=notes(windows))


def board_windows(conn: Conn, user: Principal, board_id: str) -> BoardWindowsOut:
    user.need("board.read")
    board_in_scope(conn, user.scope, board_id)
    found = storage.board_and_site_windows(conn, board_id)
    assert found is not None
    site_id, own, site = found
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
    conn: Conn, user: Principal, actor: Actor, site_id: int, body: WindowsIn
) -> SiteWindowsOut:
    """Replace a site's windows (an empty list leaves the site without any)."""
    user.need("broadcast_window.write")
    _site_in_scope(conn, user, site_id)
    windows = _checked(body)
    before = storage.site_windows(conn, site_id)
    storage.replace(conn, windows, site_id=site_id)
    audit.record(
        conn,
        actor,
        "broadcast_windows.set",
        target_type="site",
        target_id=site_id,
        before=_audit_view(before),
        after=_audit_view(windows),
    )
    return site_windows(conn, user, site_id)


def set_board_windows(
    conn: Conn, user: Principal, actor: Actor, board_id: str, body: WindowsIn | None
) -> BoardWindowsOut:
    """Give a board its own windows, or (``body`` None) drop them so it
    follows its site's again."""
    user.need("broadcast_window.write")
    board_in_scope(conn, user.scope, board_id)
    windows = [] if body is None else _checked(body)
    if body is not None and not windows:
        raise WindowError(
            "windows",
            "a board's own windows need at least one window; delete them to follow"
            " the site's windows",
            message="at least one window",
        )
    before = storage.board_windows(conn, board_id)
    storage.replace(conn, windows, board_id=board_id)
    audit.record(
        conn,
        actor,
        "broadcast_windows.set" if body is not None else "broadcast_windows.delete",
        target_type="board",
        target_id=board_id,
        before=_audit_view(before),
        after=_audit_view(windows),
    )
    return board_windows(conn, user, board_id)
