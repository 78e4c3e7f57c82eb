"""Data usage and budgets in PostgreSQL (board_data_usage, data_budgets;
migration 0042). The days are written by a trigger on telemetry_network."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.datausage.models import Budget, DayUsage

Conn = psycopg.Connection[Any]


def days(conn: Conn, board_ids: Sequence[str] | None, since: date) -> dict[str, list[DayUsage]]:
    """Every stored day from ``since`` on, per board (all boards when None)."""
    query = (
        "SELECT device_id, day, sent, received, month_sent, month_received, factor, counted,"
        " updated_at FROM board_data_usage WHERE day >= %s"
    )
    params: list[Any] = [since]
    if board_ids is not None:
        query += " AND device_id = ANY(%s)"
        params.append(list(board_ids))
    found: dict[str, list[DayUsage]] = {}
    for device, *values in conn.execute(query + " ORDER BY device_id, day", params):
        found.setdefault(str(device), []).append(DayUsage(*values))
    return found


def budgets(conn: Conn, board_ids: Sequence[str] | None, default: int | None) -> dict[str, Budget]:
    """The budget of each board: its own, else its site's, else ``default``
    (bytes; None: boards without either have none)."""
    query = """SELECT b.id, own.monthly_bytes, own.adaptive, site.monthly_bytes, site.adaptive
                 FROM boards b
                 LEFT JOIN data_budgets own ON own.board_id = b.id
                 LEFT JOIN data_budgets site ON site.site_id = b.site_id"""
    params: list[Any] = []
    if board_ids is not None:
        query += " WHERE b.id = ANY(%s)"
        params.append(list(board_ids))
    found: dict[str, Budget] = {}
    for board_id, own, own_adaptive, site, site_adaptive in conn.execute(query, params):
        if own is not None:
            found[board_id] = Budget(int(own), bool(own_adaptive), "board")
        elif site is not None:
            found[board_id] = Budget(int(site), bool(site_adaptive), "site")
        elif default is not None:
            found[board_id] = Budget(default, False, "default")
    return found


def budget_row(conn: Conn, board_id: str | None, site_id: int | None) -> dict[str, Any] | None:
    column, key = ("board_id", board_id) if board_id is not None else ("site_id", site_id)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            "SELECT board_id, site_id, monthly_bytes, adaptive, updated_by, updated_at"
            f" FROM data_budgets WHERE {column} = %s",
            (key,),
        ).fetchone()


def set_budget(
    conn: Conn,
    *,
    board_id: str | None,
    site_id: int | None,
    monthly_bytes: int | None,
    adaptive: bool,
    actor: str,
    now: datetime,
) -> None:
    """Set (or with ``monthly_bytes`` None, remove) a board's or a site's budget."""
    column, key = ("board_id", board_id) if board_id is not None else ("site_id", site_id)
    if monthly_bytes is None:
        conn.execute(f"DELETE FROM data_budgets WHERE {column} = %s", (key,))
        return
    conn.execute(
        f"INSERT INTO data_budgets ({column}, monthly_bytes, adaptive, updated_by, updated_at)"
        " VALUES (%s, %s, %s, %s, %s)"
        f" ON CONFLICT ({column}) DO UPDATE SET monthly_bytes = EXCLUDED.monthly_bytes,"
        " adaptive = EXCLUDED.adaptive, updated_by = EXCLUDED.updated_by,"
        " updated_at = EXCLUDED.updated_at",
        (key, monthly_bytes, adaptive, actor, now),
    )


def site_boards_without_own(conn: Conn, site_id: int) -> list[str]:
    """The enabled boards of a site that follow its budget (none of their own)."""
    rows = conn.execute(
        "SELECT b.id FROM boards b WHERE b.site_id = %s AND b.enabled AND NOT EXISTS"
        " (SELECT 1 FROM data_budgets d WHERE d.board_id = b.id) ORDER BY b.id",
        (site_id,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def site_visible(conn: Conn, scope: Scope, site_id: int) -> bool:
    visible, params = sites_condition(scope, "id")
    row = conn.execute(
        f"SELECT 1 FROM sites WHERE id = %s AND {visible}", [site_id, *params]
    ).fetchone()
    return row is not None


def board_page(
    conn: Conn, scope: Scope, *, site_id: int | None, after: str | None, limit: int
) -> list[dict[str, Any]]:
    """Boards the caller sees, by id after ``after`` (keyset), ``limit`` of them."""
    visible, params = sites_condition(scope, "b.site_id")
    query = (
        "SELECT b.id AS board_id, b.name AS board_name, s.id AS site_id, s.name AS site_name,"
        " s.name_en AS site_name_en"
        f" FROM boards b JOIN sites s ON s.id = b.site_id WHERE {visible}"
    )
    if site_id is not None:
        query += " AND b.site_id = %s"
        params.append(site_id)
    if after is not None:
        query += " AND b.id > %s"
        params.append(after)
    query += " ORDER BY b.id LIMIT %s"
    params.append(limit)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(query, params).fetchall()
