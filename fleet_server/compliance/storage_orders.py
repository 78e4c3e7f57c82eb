"""SQL of emergency orders (Điều 8.2): the orders themselves, the sites and
boards each covers, and the (board, day) pairs a new or revoked order sends
back to the compliance job."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.compliance.schemas import EmergencyOrderIn, EmergencyOrderOut
from fleet_server.localtime import LOCAL_TZ_NAME

Conn = psycopg.Connection[Any]
Pair = tuple[str, Any]

_SELECT = """
    SELECT o.id, o.authority, o.document_number, o.document_date, o.summary,
           o.starts_at, o.ends_at, o.all_sites,
           COALESCE((SELECT array_agg(site_id ORDER BY site_id) FROM emergency_order_sites
                      WHERE order_id = o.id), '{}') AS site_ids,
           COALESCE((SELECT array_agg(board_id ORDER BY board_id) FROM emergency_order_boards
                      WHERE order_id = o.id), '{}') AS board_ids,
           o.created_by, o.created_at, o.revoked_by, o.revoked_at, o.revoke_reason,
           (SELECT count(*) FROM compliance_days c WHERE c.exempt_order_id = o.id)
               AS exempt_days
      FROM emergency_orders o
"""


def insert(conn: Conn, order: EmergencyOrderIn, *, actor: str, now: datetime) -> int:
    row = conn.execute(
        "INSERT INTO emergency_orders (authority, document_number, document_date, summary,"
        " starts_at, ends_at, all_sites, created_by, created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            order.authority.strip(),
            order.document_number.strip(),
            order.document_date,
            order.summary,
            order.starts_at,
            order.ends_at,
            order.all_sites,
            actor,
            now,
        ),
    ).fetchone()
    assert row is not None
    order_id = int(row[0])
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO emergency_order_sites (order_id, site_id) VALUES (%s, %s)",
            [(order_id, s) for s in sorted(set(order.site_ids))],
        )
        cur.executemany(
            "INSERT INTO emergency_order_boards (order_id, board_id) VALUES (%s, %s)",
            [(order_id, b) for b in sorted(set(order.board_ids))],
        )
    return order_id


def missing_sites(conn: Conn, site_ids: list[int]) -> list[int]:
    rows = conn.execute(
        "SELECT s FROM unnest(%s::bigint[]) s WHERE NOT EXISTS (SELECT 1 FROM sites WHERE id = s)",
        (site_ids,),
    ).fetchall()
    return [int(r[0]) for r in rows]


def missing_boards(conn: Conn, board_ids: list[str]) -> list[str]:
    rows = conn.execute(
        "SELECT b FROM unnest(%s::text[]) b WHERE NOT EXISTS (SELECT 1 FROM boards WHERE id = b)",
        (board_ids,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def get(conn: Conn, order_id: int, *, lock: bool = False) -> EmergencyOrderOut | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE o.id = %s{' FOR UPDATE OF o' if lock else ''}", (order_id,)
        ).fetchone()
    return None if row is None else EmergencyOrderOut.model_validate(row)


def page(
    conn: Conn, paging: ListParams, *, in_force_at: datetime | None
) -> Page[EmergencyOrderOut]:
    where, params = ["TRUE"], []
    if in_force_at is not None:
        where.append("o.revoked_at IS NULL AND o.starts_at <= %s AND o.ends_at > %s")
        params += [in_force_at, in_force_at]
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "starts_at", "document_date", "created_at"),
        default="starts_at DESC",
        tiebreak="id DESC",
        model=EmergencyOrderOut,
    )


def revoke(conn: Conn, order_id: int, *, actor: str, reason: str, now: datetime) -> None:
    conn.execute(
        "UPDATE emergency_orders SET revoked_by = %s, revoked_at = %s, revoke_reason = %s"
        " WHERE id = %s",
        (actor, now, reason, order_id),
    )


def order_pairs(conn: Conn, after: datetime | None, upto: datetime) -> list[Pair]:
    """(board, local day) pairs an emergency order created or revoked in
    (after, upto] covers: their verdicts are judged again (Điều 8.2)."""
    rows = conn.execute(
        "SELECT DISTINCT b.id, d::date FROM emergency_orders o"
        "  JOIN boards b ON o.all_sites"
        "       OR EXISTS (SELECT 1 FROM emergency_order_boards ob"
        "                   WHERE ob.order_id = o.id AND ob.board_id = b.id)"
        "       OR EXISTS (SELECT 1 FROM emergency_order_sites os"
        "                   WHERE os.order_id = o.id AND os.site_id = b.site_id)"
        " CROSS JOIN generate_series((o.starts_at AT TIME ZONE %(tz)s)::date,"
        "   ((o.ends_at - interval '1 microsecond') AT TIME ZONE %(tz)s)::date,"
        "   interval '1 day') AS d"
        " WHERE (o.created_at > %(after)s AND o.created_at <= %(upto)s)"
        "    OR (o.revoked_at > %(after)s AND o.revoked_at <= %(upto)s)",
        {
            "tz": LOCAL_TZ_NAME,
            "after": after or datetime.min.replace(tzinfo=upto.tzinfo),
            "upto": upto,
        },
    ).fetchall()
    return [(r[0], r[1]) for r in rows]
