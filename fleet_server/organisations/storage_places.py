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


#: The matches that search names (the trigram index's reads, see ``_rows``).
SEARCHES = frozenset({"contains", "exactly"})


def _rows(conn: Conn, sql: str, params: dict[str, Any], search: bool) -> list[dict[str, Any]]:
    """``sql``'s rows. A search (``search``) is planned with ``enable_seqscan``
    off for its own statement (then back as it was; transaction-local):
    PostgreSQL estimates pg_trgm's GIN index read at ~1,000 against ~480 for
    a scan of 10,000 boards' stored names, so it would scan and test every
    name; measured, the index read and a recheck of its candidates took 3.7
    ms against 13.9 ms for the scan (median of 75 searches under load).
    Without the index (no pg_trgm) the scan is the only plan and is kept."""
    with conn.cursor(row_factory=dict_row) as cur:
        if not search:
            return cur.execute(sql, params).fetchall()
        was = cur.execute(
            "SELECT current_setting('enable_seqscan') AS was,"
            " set_config('enable_seqscan', 'off', true)"
        ).fetchone()
        try:
            return cur.execute(sql, params).fetchall()
        finally:
            restore = was["was"] if was else "on"
            cur.execute("SELECT set_config('enable_seqscan', %s, true)", (restore,))


def sites(
    conn: Conn, scope: Scope, match: str, params: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Sites in ``scope`` matching ``SITE_MATCH[match]``, by name, at most ``limit``."""
    clause, named = _scoped(scope, "s.id")
    sql = (
        "SELECT 'site' AS kind, s.id::text AS id, s.name, s.name_en FROM sites s"
        f" WHERE {clause} AND {SITE_MATCH[match]} ORDER BY s.name, s.id LIMIT {int(limit)}"
    )
    return _rows(conn, sql, {**params, **named}, match in SEARCHES)


def boards(
    conn: Conn, scope: Scope, match: str, params: dict[str, Any], limit: int
) -> list[dict[str, Any]]:
    """Boards in ``scope`` matching ``BOARD_MATCH[match]`` with their site's
    names, by name, at most ``limit`` (chosen before their sites are joined)."""
    clause, named = _scoped(scope, "b.site_id")
    sql = (
        "SELECT 'board' AS kind, b.id, b.name, NULL AS name_en, b.site_id,"
        " s.name AS site_name, s.name_en AS site_name_en"
        " FROM (SELECT b.id, b.name, b.site_id FROM boards b"
        f" WHERE {clause} AND {BOARD_MATCH[match]} ORDER BY b.name, b.id LIMIT {int(limit)}) b"
        " JOIN sites s ON s.id = b.site_id ORDER BY b.name, b.id"
    )
    return _rows(conn, sql, {**params, **named}, match in SEARCHES)
