"""What a provisioning operation checks before it changes anything, and its
audit row: the connection has no transaction open, the board is in the
caller's scope (and not removed), the new board's site is theirs and its id
free."""

from __future__ import annotations

import logging

from psycopg import pq

from fleet_server.access import audit
from fleet_server.access.principal import Actor
from fleet_server.access.scope import Scope
from fleet_server.provisioning import storage
from fleet_server.provisioning.models import (
    BoardRecord,
    NewBoard,
    ProvisioningError,
    unavailable_id,
)
from fleet_server.provisioning.storage import Conn, load_board

log = logging.getLogger(__name__)


def idle(conn: Conn) -> None:
    """Refuse a connection with a transaction open (each operation commits its own)."""
    if conn.info.transaction_status != pq.TransactionStatus.IDLE:
        raise RuntimeError("provisioning commits its own transaction: commit first")


def usable_board(
    conn: Conn, board_id: str, scope: Scope | None, *, usable: bool = True
) -> BoardRecord:
    """The board, locked, if ``scope`` sees it; removed ones only when not
    ``usable``."""
    board = load_board(conn, board_id, scope, lock=True)
    if board is None:
        raise ProvisioningError("not_found", f"board {board_id} not found")
    if usable and board.removed_at is not None:
        raise ProvisioningError(
            "removed",
            f"board {board_id} was removed on {board.removed_at:%Y-%m-%d}; its id is"
            " not reused (its history is kept)",
        )
    return board


def audit_change(
    conn: Conn,
    actor: Actor,
    action: str,
    board_id: str,
    *,
    before: BoardRecord | None,
    after: BoardRecord,
    detail: str | None = None,
) -> None:
    audit.record(
        conn,
        actor,
        action,
        target_type="board",
        target_id=board_id,
        before=None if before is None else before.plain(),
        after=after.plain(),
        detail=detail,
    )


def site_for(conn: Conn, spec: NewBoard, actor: Actor, scope: Scope | None) -> int:
    """The site's id (in the caller's scope); refuses an existing board id."""
    site_id = storage.site_id(conn, spec, scope)
    if site_id is None:
        key = spec.site if spec.site is not None else spec.site_id
        raise ProvisioningError("unknown_site", f"site {key} not found")
    refuse_taken(conn, spec.board_id, actor, scope)
    return site_id


def refuse_taken(conn: Conn, board_id: str, actor: Actor, scope: Scope | None) -> None:
    """Refuse an id a board already has. Ids are broker account names, one
    namespace for the province; whether a board outside the caller's sites has
    it is not theirs to learn: that id is refused exactly as a reserved name
    is (``unavailable_id``), never as "exists"."""
    existing = storage.existing_id(conn, board_id, scope)
    if existing is None:
        return
    removed_at, visible = existing
    if not visible:
        log.warning(
            "board id %s refused to %s: taken outside their sites", board_id, actor.username
        )
        raise unavailable_id(board_id)
    if removed_at is not None:
        raise ProvisioningError(
            "duplicate",
            f"board {board_id} exists (removed on {removed_at:%Y-%m-%d}; ids are not reused)",
        )
    raise ProvisioningError("duplicate", f"board {board_id} already exists")
