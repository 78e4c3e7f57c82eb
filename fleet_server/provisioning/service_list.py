"""The boards a caller may provision (``board.provision``: admins anywhere,
operators at their organisation's sites), by lifecycle status: the web
console's provisioning page reads them here."""

from __future__ import annotations

from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Principal
from fleet_server.errors import NotFound
from fleet_server.provisioning import storage_list
from fleet_server.provisioning.schemas_list import PROVISION_STATUSES, ProvisionedBoard
from fleet_server.provisioning.storage import Conn


def list_boards(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    status: str | None = None,
    q: str | None = None,
    counts: dict[str, int] | None = None,
) -> Page[ProvisionedBoard]:
    """``counts``: the caller's boards per status (:func:`counts`), which
    give the page's total without counting again when there is no ``q``."""
    user.need("board.provision")
    total = None
    if counts is not None and not q:
        total = counts.get(status, 0) if status else sum(counts.values())
    return storage_list.boards_page(conn, user.scope, paging, status=status, q=q, total=total)


def counts(conn: Conn, user: Principal) -> dict[str, int]:
    """Boards per status (every status present, 0 if none)."""
    user.need("board.provision")
    found = storage_list.status_counts(conn, user.scope)
    return {status: found.get(status, 0) for status in PROVISION_STATUSES}


def get_board(conn: Conn, user: Principal, board_id: str) -> ProvisionedBoard:
    user.need("board.provision")
    found = storage_list.one(conn, user.scope, board_id)
    if found is None:
        raise NotFound("board", board_id)
    return found
