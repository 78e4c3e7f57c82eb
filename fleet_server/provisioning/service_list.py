"""The boards a caller may provision (``board.provision``: admins anywhere,
operators at their organisation's sites), by lifecycle status: the web
console's provisioning page reads them here."""

from __future__ import annotations

from fleet_server.access.pagination import CursorPage, ListParams, capped
from fleet_server.access.principal import Principal
from fleet_server.errors import NotFound
from fleet_server.organisations.health_cache import VersionedCache, cached
from fleet_server.provisioning import storage_list
from fleet_server.provisioning.schemas_list import PROVISION_STATUSES, ProvisionedBoard
from fleet_server.provisioning.storage import Conn

#: Boards per status by (database, scope), each kept for one fleet health
#: version (0045: boards added, removed, enabled, disabled or moved, their
#: connectivity state; 0055: provisioned or given new credentials), so the
#: list's tabs and total are not counted over every board on each page. A
#: board that reconnects after new credentials without its state changing
#: moves from pending to connected in the counts within MAX_AGE_S.
COUNTS: VersionedCache[dict[str, int]] = VersionedCache(capacity=64)


def list_boards(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    status: str | None = None,
    q: str | None = None,
    counts: dict[str, int] | None = None,
) -> CursorPage[ProvisionedBoard]:
    """``counts``: the caller's boards per status (:func:`counts`), which
    give the page's total without counting again when there is no ``q``."""
    user.need("board.provision")
    count = None
    if counts is not None:
        known = counts.get(status, 0) if status else sum(counts.values())
        count = capped(known)
    return storage_list.boards_page(
        conn,
        user.scope,
        paging,
        status=status,
        q=q,
        count=None if count is None else lambda: count,
    )


def counts(conn: Conn, user: Principal) -> dict[str, int]:
    """Boards per status (every status present, 0 if none), counted once per
    change of the fleet's health (in the request that first sees it)."""
    user.need("board.provision")
    scope = user.scope
    found = cached(
        conn,
        (scope,),
        lambda c, _: storage_list.status_counts(c, scope),
        cache=COUNTS,
        in_request=True,
    )
    return {status: found.get(status, 0) for status in PROVISION_STATUSES}


def get_board(conn: Conn, user: Principal, board_id: str) -> ProvisionedBoard:
    user.need("board.provision")
    found = storage_list.one(conn, user.scope, board_id)
    if found is None:
        raise NotFound("board", board_id)
    return found
