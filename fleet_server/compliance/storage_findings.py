"""SQL the compliance job's incidents read: failed days without an incident,
a day's figures for an incident's details, and incidents whose day passes
now; the same for days over their advertising ceiling (Điều 8 findings
raised and cleared through incidents.lifecycle)."""

from __future__ import annotations

from datetime import date
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def failed_days_without_incident(conn: Conn, since: date) -> list[tuple[str, date, Any, Any]]:
    """Non-compliant days from ``since`` on that never had an incident."""
    return conn.execute(
        "SELECT c.board_id, c.day, s.id, s.organisation_id"
        "  FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        "  JOIN sites s ON s.id = b.site_id"
        " WHERE c.status = 'non_compliant' AND c.day >= %s"
        "   AND NOT EXISTS (SELECT 1 FROM incidents i"
        "                    WHERE i.dedupe_key = 'compliance:' || c.board_id || ':'"
        "                                         || to_char(c.day, 'YYYY-MM-DD'))",
        (since,),
    ).fetchall()


def day_figures(conn: Conn, board_id: str, day: date) -> tuple[Any, ...]:
    """A judged day's minutes, unknown minutes and basis (for an incident's details)."""
    row = conn.execute(
        "SELECT morning_minutes, afternoon_minutes, morning_unknown, afternoon_unknown,"
        " basis FROM compliance_days WHERE board_id = %s AND day = %s",
        (board_id, day),
    ).fetchone()
    assert row is not None, f"no compliance day {board_id} {day}"
    return tuple(row)


def open_incidents_now_passing(conn: Conn) -> list[tuple[int, str, date, str]]:
    """Open compliance incidents whose day late data has since cleared."""
    return conn.execute(
        "SELECT i.id, c.board_id, c.day, c.status FROM incidents i"
        "  JOIN compliance_days c ON i.dedupe_key = 'compliance:' || c.board_id || ':'"
        "                          || to_char(c.day, 'YYYY-MM-DD')"
        " WHERE i.rule = 'broadcast_noncompliant' AND i.state <> 'resolved'"
        "   AND c.status <> 'non_compliant'",
    ).fetchall()


#: dedupe key of a day's advertising finding: advertising:<board>:<YYYY-MM-DD>
ADVERTISING_KEY = "advertising:"
_AD_KEY = "'advertising:' || c.board_id || ':' || to_char(c.day, 'YYYY-MM-DD')"


def advertising_days_without_incident(conn: Conn, since: date) -> list[tuple[Any, ...]]:
    """Days from ``since`` on whose advertising share exceeds the ceiling
    they were judged with, that never had an incident: (board, day, site,
    organisation, advertising minutes, minutes on air, share, ceiling,
    where the ceiling came from)."""
    return conn.execute(
        "SELECT c.board_id, c.day, s.id, s.organisation_id, c.advertising_minutes,"
        " c.total_minutes, c.advertising_share_percent, c.advertising_ceiling_percent,"
        " c.advertising_ceiling_from"
        "  FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        "  JOIN sites s ON s.id = b.site_id"
        " WHERE c.advertising_share_percent > c.advertising_ceiling_percent AND c.day >= %s"
        f"   AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.dedupe_key = {_AD_KEY})"
        " ORDER BY c.day, c.board_id",
        (since,),
    ).fetchall()


def advertising_incidents_now_under(conn: Conn) -> list[tuple[Any, ...]]:
    """Open advertising incidents whose day is no longer over its ceiling:
    (incident, board, day, share, ceiling)."""
    return conn.execute(
        "SELECT i.id, c.board_id, c.day, c.advertising_share_percent,"
        " c.advertising_ceiling_percent FROM incidents i"
        f"  JOIN compliance_days c ON i.dedupe_key = {_AD_KEY}"
        " WHERE i.rule = 'advertising_share_exceeded' AND i.state <> 'resolved'"
        "   AND NOT COALESCE(c.advertising_share_percent > c.advertising_ceiling_percent, false)",
    ).fetchall()
