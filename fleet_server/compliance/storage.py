"""SQL of proof of play and compliance: what is counted, storing the days,
late data, cursors (the day's one pass over its samples: storage_pass.py).

Điều 8.1 counts only information serving propaganda: a minute counts when
the screen is on and the file on air is an approved registry item, valid at
that moment, of kind propaganda or emergency (the registry's kind, never the
board's word). Advertising, unapproved files and time without a file hash
are measured beside it and never count.

Everything is measured from ``telemetry_display`` samples. A sample holds
from its ``measured_at`` until the next sample when that comes within the
sample gap; the last sample before a silence holds one reporting interval
(the time since the sample before it, at most the gap). Two samples with
the same ``measured_at`` (a report sent twice under another seq) count once.
Days are local (Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import psycopg

from fleet_server.compliance.models import AdvertisingShare, DayMeasure, Status
from fleet_server.localtime import LOCAL_TZ_NAME

Conn = psycopg.Connection[Any]
Pair = tuple[str, date]

# (board, day) pairs -> local day bounds
TARGET = """
target AS (
    SELECT d.board_id, d.day,
           (d.day::timestamp AT TIME ZONE %(tz)s) AS day_start,
           ((d.day + 1)::timestamp AT TIME ZONE %(tz)s) AS day_end
      FROM unnest(%(boards)s::text[], %(days)s::date[]) AS d (board_id, day)
)"""


def params(pairs: Sequence[Pair], gap_s: float) -> dict[str, Any]:
    """The parameters of a statement over ``TARGET``."""
    return {
        "tz": LOCAL_TZ_NAME,
        "boards": [b for b, _ in pairs],
        "days": [d for _, d in pairs],
        "gap": gap_s,
    }


def save_days(
    conn: Conn,
    judged: Sequence[tuple[DayMeasure, Status, int | None, AdvertisingShare]],
    thresholds: dict[str, float],
) -> None:
    """Store each day's figures, its verdict, for an exempt day the
    emergency order that exempts it, and its advertising share (Điều 8.3)."""
    rows = []
    for m, status, order_id, ads in judged:
        morning, afternoon = m.windows.get("morning"), m.windows.get("afternoon")
        basis = {
            "windows": {
                part: [f.window.starts_at.isoformat(), f.window.ends_at.isoformat()]
                for part, f in m.windows.items()
            },
            "thresholds_minutes": thresholds,
            "emergency_orders": {
                part: f.order_id for part, f in m.windows.items() if f.order_id is not None
            },
        }
        rows.append(
            (
                m.board_id,
                m.day,
                morning.on_air_minutes if morning else 0.0,
                afternoon.on_air_minutes if afternoon else 0.0,
                m.total_minutes,
                m.advertising_minutes,
                m.emergency_minutes,
                morning.unknown_minutes if morning else 0.0,
                afternoon.unknown_minutes if afternoon else 0.0,
                status,
                json.dumps(basis),
                m.counted_minutes,
                m.unapproved_minutes,
                m.unidentified_minutes,
                order_id,
                ads.share_percent,
                ads.ceiling_percent,
                ads.ceiling_from,
            )
        )
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
            " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
            " afternoon_unknown, status, basis, counted_minutes, unapproved_minutes,"
            " unidentified_minutes, exempt_order_id, advertising_share_percent,"
            " advertising_ceiling_percent, advertising_ceiling_from, computed_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
            " %s, %s, %s, now())"
            " ON CONFLICT (board_id, day) DO UPDATE SET"
            " morning_minutes = EXCLUDED.morning_minutes,"
            " afternoon_minutes = EXCLUDED.afternoon_minutes,"
            " total_minutes = EXCLUDED.total_minutes,"
            " advertising_minutes = EXCLUDED.advertising_minutes,"
            " emergency_minutes = EXCLUDED.emergency_minutes,"
            " morning_unknown = EXCLUDED.morning_unknown,"
            " afternoon_unknown = EXCLUDED.afternoon_unknown,"
            " status = EXCLUDED.status, basis = EXCLUDED.basis,"
            " counted_minutes = EXCLUDED.counted_minutes,"
            " unapproved_minutes = EXCLUDED.unapproved_minutes,"
            " unidentified_minutes = EXCLUDED.unidentified_minutes,"
            " exempt_order_id = EXCLUDED.exempt_order_id,"
            " advertising_share_percent = EXCLUDED.advertising_share_percent,"
            " advertising_ceiling_percent = EXCLUDED.advertising_ceiling_percent,"
            " advertising_ceiling_from = EXCLUDED.advertising_ceiling_from, computed_at = now()",
            rows,
        )


def dirty_pairs(conn: Conn, after: datetime | None, upto: datetime, gap_s: float) -> list[Pair]:
    """(board, local day) pairs that received display samples stored in
    (after, upto]: late data recomputes exactly the days it touches."""
    rows = conn.execute(
        "SELECT DISTINCT device_id, d FROM telemetry_display"
        " CROSS JOIN LATERAL (VALUES ((measured_at AT TIME ZONE %(tz)s)::date),"
        "   (((measured_at + make_interval(secs => %(gap)s)) AT TIME ZONE %(tz)s)::date)) v (d)"
        " WHERE stored_at > %(after)s AND stored_at <= %(upto)s",
        {
            "tz": LOCAL_TZ_NAME,
            "gap": gap_s,
            "after": after or datetime.min.replace(tzinfo=upto.tzinfo),
            "upto": upto,
        },
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def settled_until(conn: Conn) -> datetime:
    """The database's now, or the start of the oldest transaction still
    open in this database (begun in the last 10 minutes) if earlier: rows
    it writes will carry that start as their ``stored_at``, and the cursor
    must not pass them before they are visible."""
    row = conn.execute(
        "SELECT least(now(), (SELECT min(xact_start) FROM pg_stat_activity"
        "  WHERE datname = current_database() AND pid <> pg_backend_pid()"
        "    AND xact_start > now() - interval '10 minutes'))"
    ).fetchone()
    assert row is not None
    return row[0]  # type: ignore[no-any-return]


def boards_for_day(conn: Conn, day: date) -> list[str]:
    """Enabled boards installed by ``day`` (or created by its end)."""
    rows = conn.execute(
        "SELECT id FROM boards WHERE enabled AND COALESCE(installed_on,"
        " (created_at AT TIME ZONE %s)::date) <= %s ORDER BY id",
        (LOCAL_TZ_NAME, day),
    ).fetchall()
    return [r[0] for r in rows]


def cursor(conn: Conn, name: str) -> datetime | None:
    row = conn.execute("SELECT position FROM job_cursors WHERE name = %s", (name,)).fetchone()
    return row[0] if row else None


def save_cursor(conn: Conn, name: str, position: datetime) -> None:
    conn.execute(
        "INSERT INTO job_cursors (name, position) VALUES (%s, %s) ON CONFLICT (name)"
        " DO UPDATE SET position = EXCLUDED.position, updated_at = now()",
        (name, position),
    )
