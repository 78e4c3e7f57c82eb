"""SQL of the tickets the platform opens by itself: preventive schedules
(read only by the engine) and the link that says an incident has its ticket."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]


def incident_has_ticket(conn: Conn, incident_id: int) -> bool:
    """Whether a ticket was ever linked to the incident (perhaps closed since)."""
    row = conn.execute(
        "SELECT 1 FROM ticket_incidents WHERE incident_id = %s", (incident_id,)
    ).fetchone()
    return row is not None


def due_schedules(conn: Conn, now: datetime) -> list[tuple[int, str, int, str, int, date]]:
    """Preventive schedules due by ``now``, locked: (id, board, site, title,
    every_days, next_due_on)."""
    rows = conn.execute(
        """SELECT p.id, p.board_id, b.site_id, p.title, p.every_days, p.next_due_on
             FROM preventive_schedules p JOIN boards b ON b.id = p.board_id
            WHERE p.next_due_on <= %s::date FOR UPDATE OF p""",
        (now,),
    ).fetchall()
    return [tuple(r) for r in rows]


def set_next_due(conn: Conn, schedule_id: int, due_on: date) -> None:
    conn.execute(
        "UPDATE preventive_schedules SET next_due_on = %s WHERE id = %s", (due_on, schedule_id)
    )
