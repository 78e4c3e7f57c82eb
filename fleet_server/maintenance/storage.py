"""SQL of maintenance_windows: the API's lists and changes, and what the
engine reads to hold notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.maintenance.schemas import WindowOut

Conn = psycopg.Connection[Any]

_SELECT = """
    SELECT w.id, w.site_id, w.board_id, coalesce(w.site_id, b.site_id) AS at_site_id,
           w.starts_at, w.ends_at, w.recurrence, w.reason, w.created_by, w.created_at,
           maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s)
               IS NOT NULL AS active,
           maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s)
               AS current_ends_at
    FROM maintenance_windows w LEFT JOIN boards b ON b.id = w.board_id
"""
_AT_SITE = "coalesce(w.site_id, b.site_id)"


def list_windows(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    now: datetime,
    site_id: int | None = None,
    board_id: str | None = None,
    active_at: datetime | None = None,
    current: bool | None = None,
    recurrence: str | None = None,
) -> Page[WindowOut]:
    """Windows at the sites ``scope`` sees, filtered, one page."""
    clause, scope_params = sites_condition(scope, _AT_SITE)
    where = [clause]
    params: list[Any] = [now, now, *scope_params]
    if site_id is not None:
        where.append(f"{_AT_SITE} = %s")
        params.append(site_id)
    if board_id is not None:
        where.append("(w.board_id = %s OR w.site_id = (SELECT site_id FROM boards WHERE id = %s))")
        params += [board_id, board_id]
    if active_at is not None:
        where.append(
            "maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s) IS NOT NULL"
        )
        params.append(active_at)
    if current is not None:
        where.append(
            f"maintenance_occurrence_end(w.starts_at, w.ends_at, w.recurrence, %s)"
            f" IS {'NOT ' if current else ''}NULL"
        )
        params.append(now)
    if recurrence is not None:
        where.append("w.recurrence = %s")
        params.append(recurrence)
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "starts_at", "ends_at", "created_at"),
        default="starts_at DESC",
        tiebreak="id DESC",
        model=WindowOut,
    )


def get_window(
    conn: Conn, scope: Scope, window_id: int, *, now: datetime, lock: bool = False
) -> WindowOut | None:
    """The window, if ``scope`` sees its site; ``lock``: FOR UPDATE."""
    clause, params = sites_condition(scope, _AT_SITE)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE w.id = %s AND {clause}{' FOR UPDATE OF w' if lock else ''}",
            [now, now, window_id, *params],
        ).fetchone()
    return None if row is None else WindowOut.model_validate(row)


def site_visible(conn: Conn, scope: Scope, site_id: int | None) -> bool:
    """Whether the site exists and ``scope`` sees it."""
    clause, params = sites_condition(scope, "s.id")
    found = conn.execute(
        f"SELECT 1 FROM sites s WHERE s.id = %s AND {clause}", [site_id, *params]
    ).fetchone()
    return found is not None


def insert(
    conn: Conn,
    *,
    site_id: int | None,
    board_id: str | None,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str,
    reason: str,
    created_by: str,
    now: datetime,
) -> int:
    """A new window; its id."""
    row = conn.execute(
        "INSERT INTO maintenance_windows (site_id, board_id, starts_at, ends_at, recurrence,"
        " reason, created_by, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (site_id, board_id, starts_at, ends_at, recurrence, reason, created_by, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def set_last_occurrence(conn: Conn, window_id: int, starts_at: datetime, ends_at: datetime) -> None:
    """Make the window a one-off ``starts_at``..``ends_at`` (it stops repeating)."""
    conn.execute(
        "UPDATE maintenance_windows SET starts_at = %s, ends_at = %s, recurrence = 'none'"
        " WHERE id = %s",
        (starts_at, ends_at, window_id),
    )


def delete(conn: Conn, window_id: int) -> None:
    conn.execute("DELETE FROM maintenance_windows WHERE id = %s", (window_id,))


def covered(conn: Conn, now: datetime, *, site_id: int, board_id: str | None) -> bool:
    """Some window still covers the board (or, with no board, the site itself)."""
    row = conn.execute(
        """SELECT EXISTS (
               SELECT 1 FROM maintenance_windows
               WHERE (site_id = %s OR (%s::text IS NOT NULL AND board_id = %s))
                 AND maintenance_occurrence_end(starts_at, ends_at, recurrence, %s) IS NOT NULL)""",
        (site_id, board_id, board_id, now),
    ).fetchone()
    return bool(row and row[0])


def site_boards(conn: Conn, site_id: int) -> list[str]:
    """The ids of the site's boards."""
    return [str(r[0]) for r in conn.execute("SELECT id FROM boards WHERE site_id = %s", (site_id,))]


def started_windows(
    conn: Conn, board_id: str | None, site_id: int | None, now: datetime
) -> list[tuple[datetime, datetime, str]]:
    """(first start, first end, recurrence) of the windows on the board or
    the site whose first occurrence has started by ``now`` (the engine's
    question; the occurrences are worked out in Python)."""
    rows = conn.execute(
        """SELECT starts_at, ends_at, recurrence FROM maintenance_windows
            WHERE (board_id = %s OR site_id = %s) AND starts_at <= %s""",
        (board_id, site_id, now),
    ).fetchall()
    return [(r[0], r[1], r[2]) for r in rows]
