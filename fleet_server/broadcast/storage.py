"""SQL of broadcast_windows: a site's windows, a board's override."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.broadcast.models import Window

Conn = psycopg.Connection[Any]


def site_visible(conn: Conn, scope: Scope, site_id: int) -> bool:
    """Whether the site exists and ``scope`` sees it."""
    clause, params = sites_condition(scope, "s.id")
    found = conn.execute(
        f"SELECT 1 FROM sites s WHERE s.id = %s AND {clause}", [site_id, *params]
    ).fetchone()
    return found is not None


def board_site(conn: Conn, board_id: str) -> int | None:
    """The board's site, None when there is no such board."""
    row = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone()
    return None if row is None else int(row[0])


def site_windows(conn: Conn, site_id: int) -> list[Window]:
    rows = conn.execute(
        "SELECT part, starts_at, ends_at FROM broadcast_windows WHERE site_id = %s"
        " ORDER BY starts_at",
        (site_id,),
    ).fetchall()
    return [Window(*r) for r in rows]


def board_windows(conn: Conn, board_id: str) -> list[Window]:
    """The board's own windows (empty: it follows its site's)."""
    rows = conn.execute(
        "SELECT part, starts_at, ends_at FROM broadcast_windows WHERE board_id = %s"
        " ORDER BY starts_at",
        (board_id,),
    ).fetchall()
    return [Window(*r) for r in rows]


def board_and_site_windows(
    conn: Conn, board_id: str
) -> tuple[int, list[Window], list[Window]] | None:
    """The board's site, its own windows and its site's, in one statement
    (each side by its index); None when there is no such board."""
    rows = conn.execute(
        "SELECT b.site_id, w.own, w.part, w.starts_at, w.ends_at FROM boards b"
        " LEFT JOIN LATERAL ("
        "  SELECT true AS own, part, starts_at, ends_at FROM broadcast_windows"
        "   WHERE board_id = b.id"
        "  UNION ALL"
        "  SELECT false, part, starts_at, ends_at FROM broadcast_windows"
        "   WHERE site_id = b.site_id) w ON true"
        " WHERE b.id = %s ORDER BY w.starts_at",
        (board_id,),
    ).fetchall()
    if not rows:
        return None
    own = [Window(*r[2:]) for r in rows if r[1] is True]
    site = [Window(*r[2:]) for r in rows if r[1] is False]
    return int(rows[0][0]), own, site


def replace(
    conn: Conn,
    windows: Sequence[Window],
    *,
    site_id: int | None = None,
    board_id: str | None = None,
) -> None:
    """Put ``windows`` in place of the site's (or the board's) current ones.
    The site's (board's) row is locked first, so two concurrent changes apply
    one after the other instead of colliding (NO KEY: rows referring to it
    may still be written meanwhile)."""
    column, owner = ("site_id", site_id) if site_id is not None else ("board_id", board_id)
    table = "sites" if site_id is not None else "boards"
    conn.execute(f"SELECT 1 FROM {table} WHERE id = %s FOR NO KEY UPDATE", (owner,)).fetchall()
    conn.execute(f"DELETE FROM broadcast_windows WHERE {column} = %s", (owner,))
    if windows:
        with conn.cursor() as cur:
            cur.executemany(
                f"INSERT INTO broadcast_windows ({column}, part, starts_at, ends_at)"
                " VALUES (%s, %s, %s, %s)",
                [(owner, w.part, w.starts_at, w.ends_at) for w in windows],
            )
