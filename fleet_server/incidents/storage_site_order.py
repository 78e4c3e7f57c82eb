"""A scoped reader's incidents by site name (``?sort=site_name`` for an
operator, a technician…): the sites in scope in name order, each one's
incidents read through its own index, until the page is full.

The copy of the site's name on each incident (migration 0055) gives the
province-wide reader an index range. A scoped reader's incidents are a
third of them or less, grouped by the names of its sites; along that index
the rows of the other organisations come first, and a page could read
137,000 of them before its 51 (600 ms at the bench, for names late in the
order). Walking the scope's sites by name instead reads only its own sites,
one incident range each, and stops once the page is full (2 ms). Sites that
share a name are one group: its incidents are ordered by id, as the
index's order has them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg.rows import dict_row

from fleet_server.access.keyset import Keyset, Order, decode, encode
from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.incidents.schemas import IncidentOut

Conn = Any


def applies(scope: Scope, paging: ListParams, order: Order) -> bool:
    """Whether this walk serves the page: a scoped reader, by site name, by cursor."""
    return not scope.province_wide and order.keys[0].column == "site_name" and not paging.offset


def page(
    conn: Conn,
    select: tuple[str, list[Any]],
    scope: Scope,
    paging: ListParams,
    *,
    keyset: Keyset,
    order: Order,
    count: Callable[[], tuple[int, bool]],
) -> CursorPage[IncidentOut]:
    """The page after ``paging.cursor`` of ``select`` (the list's SELECT
    and WHERE over ``incidents i``, already scoped, and its parameters) in
    ``order`` (site name, then id, one direction); ``count``: the capped total."""
    sql, params = select
    way = "DESC" if order.descending[0] else "ASC"
    op = "<" if order.descending[0] else ">"
    sites, site_params = sites_condition(scope, "s2.id")
    seek, seek_params, bound, bound_params = "TRUE", list[Any](), "TRUE", list[Any]()
    if paging.cursor is not None:
        name, last = decode(keyset, order, paging.cursor)
        if name is None:  # past every named site: a scoped reader sees no incident without one
            return _page([], paging, keyset, order, count())
        seek, seek_params = f"(i.site_name, i.id) {op} (%s, %s)", [name, last]
        bound, bound_params = f"s2.name {op}= %s", [name]
    limit = paging.limit + 1
    query = (
        "SELECT q.* FROM (SELECT s2.id AS scope_site, s2.name AS scope_name FROM sites s2"
        f" WHERE {sites} AND {bound} ORDER BY s2.name {way}) ss"
        f" CROSS JOIN LATERAL ({sql} AND i.site_id = ss.scope_site AND {seek}"
        f" ORDER BY i.id {way} LIMIT %s) q"
        f" ORDER BY ss.scope_name {way}, q.id {way} LIMIT %s"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            query, [*site_params, *bound_params, *params, *seek_params, limit, limit]
        ).fetchall()
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    total = (len(rows), False) if paging.cursor is None and not more else count()
    return _page(rows, paging, keyset, order, total, more=more)


def _page(
    rows: list[dict[str, Any]],
    paging: ListParams,
    keyset: Keyset,
    order: Order,
    total: tuple[int, bool],
    *,
    more: bool = False,
) -> CursorPage[IncidentOut]:
    return CursorPage[IncidentOut](
        items=[IncidentOut.model_validate(r) for r in rows],
        total=total[0],
        limit=paging.limit,
        offset=paging.offset,
        total_capped=total[1],
        next_cursor=encode(keyset, order, rows[-1]) if more else None,
    )
