"""SQL of provisioning: a board's row (inventory, broker login, lifecycle)
and its cameras, narrowed to the caller's sites by a :class:`Scope` (None:
every site, as the command line has)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.broker.ca import IssuedCertificate
from fleet_server.provisioning.models import Auth, BoardRecord, NewBoard

Conn = psycopg.Connection[Any]

_SELECT = """
    SELECT b.id, b.site_id, s.code AS site_code, b.name, b.model, b.serial, b.installed_on,
           b.enabled, b.auth, b.cert_serial, b.cert_not_after, b.provisioned_at,
           b.credentials_rotated_at, b.disabled_at, b.disabled_by, b.removed_at, b.removed_by,
           coalesce((SELECT array_agg(c.camera_id ORDER BY c.camera_id) FROM cameras c
                      WHERE c.board_id = b.id), '{}') AS cameras
    FROM boards b JOIN sites s ON s.id = b.site_id
"""


def site_clause(scope: Scope | None, column: str) -> tuple[str, list[Any]]:
    """The sites ``scope`` sees, on ``column``; None: every site."""
    if scope is None:
        return "TRUE", []
    return sites_condition(scope, column)


def load_board(
    conn: Conn, board_id: str, scope: Scope | None = None, *, lock: bool = False
) -> BoardRecord | None:
    """The board if it exists and ``scope`` sees its site."""
    clause, params = site_clause(scope, "b.site_id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE b.id = %s AND {clause}{' FOR UPDATE OF b' if lock else ''}",
            [board_id, *params],
        ).fetchone()
    if row is None:
        return None
    row["cameras"] = tuple(row["cameras"])
    return BoardRecord(**row)


def site_id(conn: Conn, spec: NewBoard, scope: Scope | None) -> int | None:
    """The id of the new board's site (by code or id), if ``scope`` sees it."""
    clause, params = site_clause(scope, "s.id")
    key = spec.site if spec.site is not None else spec.site_id
    column = "s.code" if spec.site is not None else "s.id"
    site = conn.execute(
        f"SELECT s.id FROM sites s WHERE {column} = %s AND {clause}",
        [key, *params],
    ).fetchone()
    return None if site is None else int(site[0])


def existing_id(
    conn: Conn, board_id: str, scope: Scope | None
) -> tuple[datetime | None, bool] | None:
    """(removed_at, whether ``scope`` sees its site) of the board with that
    id, or None when no board has it."""
    clause, params = site_clause(scope, "b.site_id")
    row = conn.execute(
        f"SELECT b.removed_at, {clause} FROM boards b WHERE b.id = %s",
        [*params, board_id],
    ).fetchone()
    return None if row is None else (row[0], bool(row[1]))


def insert_board(
    conn: Conn,
    spec: NewBoard,
    site_id: int,
    issued: IssuedCertificate | None,
    now: datetime,
) -> bool:
    """The board's row and its cameras; False when the id was taken meanwhile."""
    row = conn.execute(
        "INSERT INTO boards (id, site_id, name, model, serial, installed_on,"
        " heartbeat_interval_s, auth, cert_serial, cert_not_after,"
        " provisioned_at, created_at, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, coalesce(%s, 30), %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO NOTHING RETURNING id",
        (
            spec.board_id,
            site_id,
            spec.name.strip(),
            spec.model or None,
            spec.serial or None,
            spec.installed_on,
            spec.heartbeat_interval_s,
            spec.auth,
            issued.serial_hex if issued else None,
            issued.not_after if issued else None,
            now,
            now,
            now,
        ),
    ).fetchone()
    if row is None:
        return False
    if spec.cameras:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO cameras (board_id, camera_id, name) VALUES (%s, %s, %s)",
                [(spec.board_id, c.camera_id, c.name.strip()) for c in spec.cameras],
            )
    return True


def set_enabled(conn: Conn, board_id: str, enable: bool, by: str, now: datetime) -> None:
    conn.execute(
        "UPDATE boards SET enabled = %s, disabled_at = %s, disabled_by = %s,"
        " updated_at = %s WHERE id = %s",
        (enable, None if enable else now, None if enable else by, now, board_id),
    )


def set_credentials(
    conn: Conn, board_id: str, auth: Auth, issued: IssuedCertificate | None, now: datetime
) -> None:
    conn.execute(
        "UPDATE boards SET auth = %s, cert_serial = %s, cert_not_after = %s,"
        " credentials_rotated_at = %s,"
        " provisioned_at = coalesce(provisioned_at, %s), updated_at = %s"
        " WHERE id = %s",
        (
            auth,
            issued.serial_hex if issued else None,
            issued.not_after if issued else None,
            now,
            now,
            now,
            board_id,
        ),
    )


def mark_removed(conn: Conn, board_id: str, by: str, now: datetime) -> None:
    """Disabled and removed (the first time's who and when are kept)."""
    conn.execute(
        "UPDATE boards SET enabled = false,"
        " removed_at = coalesce(removed_at, %s),"
        " removed_by = coalesce(removed_by, %s),"
        " disabled_at = coalesce(disabled_at, %s),"
        " disabled_by = coalesce(disabled_by, %s), updated_at = %s"
        " WHERE id = %s",
        (now, by, now, by, now, board_id),
    )
