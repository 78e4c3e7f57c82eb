"""The console's place picker's reads (console/place_search.py): sites and
boards in a scope matching one of a few named conditions, as rows the
picker turns into suggestions.

A search reads ``search_text`` (migration 0056: the folded names and the
site's code or the board's id, kept with the row), with a trigram index
when the database has pg_trgm, a read of that column otherwise. Parameters:
``like`` a LIKE "contains" pattern of the folded text typed, ``folded`` the
folded text, ``exact`` the text as typed, ``id`` a site id typed (or None);
``place_fold`` is the migration's SQL twin of the picker's ``fold``."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition

Conn = psycopg.Connection[Any]

#: The conditions a site may be looked up by.
SITE_MATCH = {
    "contains": "(s.search_text LIKE %(like)s OR s.id = %(id)s)",
    "exactly": "((s.search_text LIKE %(like)s AND (place_fold(s.name) = %(folded)s"
    " OR place_fold(s.name_en) = %(folded)s)) OR s.code = %(exact)s OR s.id = %(id)s)",
    "first": "TRUE",
    "one": "s.id = %(site)s",
    "among": "s.id = ANY(%(ids)s)",
}
#: The conditions a board may be looked up by.
BOARD_MATCH = {
    "contains": "b.search_text LIKE %(like)s",
    "exactly": "(b.id = %(exact)s OR (b.search_text LIKE %(like)s"
    " AND place_fold(b.name) = %(folded)s))",
    "of_site": "b.site_id = %(site)s",
    "one": "b.id = %(board)s",
}


def _scoped(scope: Scope, column: str) -> tuple[str, dict[str, Any]]:
    """``sites_condition`` with named placeholders (the matches use names)."""
    clause, values = sites_condition(scope, column)
    named = {f"scope{i}": v for i, v in enumerate(values)}
    parts = clause.split("%s")
    text = parts[0] + "".join(f"%(scope{i})s{part}" for i, part in enumerate(parts[1:]))
    return text, named


def sites(
    conn: Conn, scope: Scope, match: str, params: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Sites in ``scope`` matching ``SITE_MATCH[match]``, by name, at most ``limit``."""
    clause, named = _scoped(scope, "s.id")
    sql = (
        "SELECT 'site' AS kind, s.id::text AS id, s.name, s.name_en FROM sites s"
        f" WHERE {clause} AND {SITE_MATCH[match]} ORDER BY s.name, s.id LIMIT {int(limit)}"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, {**params, **named}).fetchall()


def boards(
    conn: Conn, scope: Scope, match: str, params: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Boards in ``scope`` matching ``BOARD_MATCH[match]`` with their site's
    names, by name, at most ``limit``."""
    clause, named = _scoped(scope, "b.site_id")
    sql = (
        "SELECT 'board' AS kind, b.id, b.name, NULL AS name_en, b.site_id,"
        " s.name AS site_name, s.name_en AS site_name_en"
        " FROM boards b JOIN sites s ON s.id = b.site_id"
        f" WHERE {clause} AND {BOARD_MATCH[match]} ORDER BY b.name, b.id LIMIT {int(limit)}"
    )
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql, {**params, **named}).fetchall()


def site_names(conn: Conn, scope: Scope) -> list[tuple[int, str, str | None]]:
    """(id, name, English name) of every site in ``scope``, by name."""
    clause, values = sites_condition(scope, "s.id")
    with conn.cursor() as cur:
        return cur.execute(
            f"SELECT s.id, s.name, s.name_en FROM sites s WHERE {clause} ORDER BY s.name, s.id",
            values,
        ).fetchall()
