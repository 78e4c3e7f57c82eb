"""SQL of the provisioning list: the boards a caller may provision, with
their login method and lifecycle and whether they have connected since their
credentials were issued (no secrets: the server keeps none)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg.rows import dict_row

from fleet_server.access.keyset import Key, Keyset
from fleet_server.access.pagination import CursorPage, ListParams, add_search, fetch_keyset_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.provisioning.schemas_list import ProvisionedBoard
from fleet_server.provisioning.storage import Conn

#: The status as SQL over ``boards b`` and ``board_status st``.
STATUS_SQL = """
    CASE WHEN b.removed_at IS NOT NULL THEN 'removed'
         WHEN NOT b.enabled THEN 'disabled'
         WHEN b.provisioned_at IS NULL THEN 'legacy'
         WHEN st.last_seen_at IS NULL
              OR st.last_seen_at < coalesce(b.credentials_rotated_at, b.provisioned_at)
           THEN 'pending'
         ELSE 'connected' END
"""

_SELECT = f"""
    SELECT * FROM (
      SELECT b.id, b.name, b.site_id, s.code AS site_code, s.name AS site_name,
             s.name_en AS site_name_en, b.enabled, b.auth, b.cert_not_after,
             b.provisioned_at, b.credentials_rotated_at, b.disabled_at, b.removed_at,
             st.last_seen_at, {STATUS_SQL} AS status
      FROM boards b
      JOIN sites s ON s.id = b.site_id
      LEFT JOIN board_status st ON st.board_id = b.id
      WHERE {{scope}}
    ) p
"""


#: The list's order: newest provisioned first (boards from before
#: provisioning last), then by id; paged by cursor along the index of that
#: order (migration 0055), so a page reads its rows and stops.
KEYSET = Keyset(
    name="provisioning",
    tiebreak=Key("id", "text"),
    sorts={"provisioned_at": Key("provisioned_at", "timestamp", nullable=True)},
    default=("provisioned_at",),
)


def boards_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    status: str | None = None,
    q: str | None = None,
    count: Callable[[], tuple[int, bool]] | None = None,
) -> CursorPage[ProvisionedBoard]:
    """One page of the boards ``scope`` may provision, after ``paging.cursor``.
    ``count``: the filters' capped total when the caller knows it (the
    boards per status, without ``q``); else counted up to ``COUNT_CAP``."""
    clause, params = sites_condition(scope, "b.site_id")
    where: list[str] = ["TRUE"]
    tail: list[Any] = []
    if status is not None:
        where.append("p.status = %s")
        tail.append(status)
    add_search(where, tail, q, ("p.id", "p.name", "p.site_name"))
    return fetch_keyset_page(
        conn,
        _SELECT.format(scope=clause) + f" WHERE {' AND '.join(where)}",
        [*params, *tail],
        paging,
        keyset=KEYSET,
        model=ProvisionedBoard,
        count=None if q else count,
    )


def status_counts(conn: Conn, scope: Scope) -> dict[str, int]:
    clause, params = sites_condition(scope, "b.site_id")
    rows = conn.execute(
        _SELECT.format(scope=clause).replace("SELECT * FROM", "SELECT p.status, count(*) FROM", 1)
        + " GROUP BY p.status",
        params,
    ).fetchall()
    return {str(r[0]): int(r[1]) for r in rows}


def one(conn: Conn, scope: Scope, board_id: str) -> ProvisionedBoard | None:
    clause, params = sites_condition(scope, "b.site_id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            _SELECT.format(scope=clause) + " WHERE p.id = %s", [*params, board_id]
        ).fetchone()
    return None if row is None else ProvisionedBoard.model_validate(row)
