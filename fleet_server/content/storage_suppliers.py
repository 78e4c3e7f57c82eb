"""SQL of the supplying units, what they sent in a period, and the overdue
notices already queued."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row, tuple_row

from fleet_server.content.storage import Conn

_COLUMNS = (
    "id, name, organisation_id, obligation, min_items, contact_id, obligation_from, active,"
    " created_at"
)
CHANGEABLE = (
    "name",
    "organisation_id",
    "obligation",
    "min_items",
    "contact_id",
    "obligation_from",
    "active",
)


class Clash(Exception):
    """A unique or foreign key refused the row; ``what`` names the column."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


def _translated(exc: psycopg.errors.IntegrityError) -> Clash:
    constraint = getattr(exc.diag, "constraint_name", None) or ""
    for column in ("name", "organisation_id", "contact_id"):
        if column in constraint:
            return Clash(column)
    return Clash("row")


def all_suppliers(conn: Conn, *, active_only: bool = False) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM content_suppliers"
            f"{' WHERE active' if active_only else ''} ORDER BY name, id"
        ).fetchall()


def get(conn: Conn, supplier_id: int, *, lock: bool = False) -> dict[str, Any] | None:
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM content_suppliers WHERE id = %s"
            f"{' FOR UPDATE' if lock else ''}",
            (supplier_id,),
        ).fetchone()


def of_organisation(conn: Conn, organisation_id: int | None) -> dict[str, Any] | None:
    if organisation_id is None:
        return None
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM content_suppliers WHERE organisation_id = %s",
            (organisation_id,),
        ).fetchone()


def insert(conn: Conn, fields: dict[str, Any]) -> dict[str, Any]:
    names = [c for c in CHANGEABLE if c in fields]
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                f"INSERT INTO content_suppliers ({', '.join(names)})"
                f" VALUES ({', '.join(['%s'] * len(names))}) RETURNING {_COLUMNS}",
                [fields[n] for n in names],
            ).fetchone()
    except psycopg.errors.IntegrityError as exc:
        raise _translated(exc) from None
    assert row is not None
    return row


def update(conn: Conn, supplier_id: int, changes: dict[str, Any]) -> dict[str, Any]:
    names = [c for c in CHANGEABLE if c in changes]
    try:
        with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(
                f"UPDATE content_suppliers SET {', '.join(f'{n} = %s' for n in names)}"
                f" WHERE id = %s RETURNING {_COLUMNS}",
                [*(changes[n] for n in names), supplier_id],
            ).fetchone()
    except psycopg.errors.IntegrityError as exc:
        raise _translated(exc) from None
    assert row is not None
    return row


def submitted_between(conn: Conn, supplier_id: int, start: datetime, end: datetime) -> int:
    """Items the unit sent in [start, end) (first submission)."""
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(
            "SELECT count(*) FROM content_submissions"
            " WHERE supplier_id = %s AND submitted_at >= %s AND submitted_at < %s",
            (supplier_id, start, end),
        ).fetchone()
    return int(row[0]) if row else 0


def claim_notice(conn: Conn, supplier_id: int, period: str, due: date, now: datetime) -> bool:
    """Record that the overdue notice of (supplier, period) is being queued;
    False when it was queued before."""
    with conn.cursor(row_factory=tuple_row) as cur:
        row = cur.execute(
            "INSERT INTO content_overdue_notices (supplier_id, period, due, queued_at)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (supplier_id, period, due, now),
        ).fetchone()
    return row is not None
