"""Operations on boards, below the HTTP layer."""

from __future__ import annotations

from fleet_server.access.scope import Scope
from fleet_server.boards import storage
from fleet_server.boards.storage import Conn
from fleet_server.errors import NotFound


def board_in_scope(
    conn: Conn, scope: Scope, board_id: str, *, what: str = "board", ident: str | None = None
) -> None:
    """NotFound unless the board exists and ``scope`` sees its site (the same
    answer for both: no hint that another organisation's board exists)."""
    if not storage.board_visible(conn, scope, board_id):
        raise NotFound(what, ident or board_id)
