"""Tickets' notices in PostgreSQL: what a notice says of a ticket (its place,
deadline, assignee and the incident it was opened for), whose contacts the
assignee has, which deadlines are due a notice, and the record that one was
queued (``ticket_notices``, migration 0031)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from psycopg.rows import dict_row

from fleet_server.tickets.storage import Conn

#: The stages of a ticket's deadline, each noticed once per deadline.
STAGES = ("due", "overdue", "escalated")


def notice_row(conn: Conn, ticket_id: int) -> dict[str, Any] | None:
    """The ticket with its site's and board's names, the organisation, and
    the class and rule of the first incident it was opened for."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT t.id, t.site_id, t.board_id, t.kind, t.priority, t.state, t.title,
                      t.assignee, t.team, t.due_at, s.name AS site_name,
                      s.name_en AS site_name_en, s.organisation_id, b.name AS board_name,
                      i.class AS incident_class, i.rule AS incident_rule
               FROM tickets t
               JOIN sites s ON s.id = t.site_id
               LEFT JOIN boards b ON b.id = t.board_id
               LEFT JOIN LATERAL (
                   SELECT x.class, x.rule FROM ticket_incidents ti
                   JOIN incidents x ON x.id = ti.incident_id
                   WHERE ti.ticket_id = t.id ORDER BY x.opened_at, x.id LIMIT 1
               ) i ON true
               WHERE t.id = %s""",
            (ticket_id,),
        ).fetchone()


def contacts_of(conn: Conn, username: str | None) -> tuple[int, ...]:
    """The active contacts of an account: the one that belongs to it
    (``contacts.user_id``)."""
    if not username:
        return ()
    rows = conn.execute(
        "SELECT c.id FROM contacts c JOIN users u ON u.id = c.user_id"
        " WHERE u.username = %s AND u.active AND c.active ORDER BY c.id",
        (username,),
    ).fetchall()
    return tuple(int(r[0]) for r in rows)


def deadlines_due(
    conn: Conn, now: datetime, *, due_soon: timedelta, escalate_after: timedelta
) -> list[tuple[int, str, datetime]]:
    """(ticket id, stage, due_at) of unfinished tickets whose stage has come
    and has not been noticed for this deadline: ``due`` within ``due_soon``
    of the deadline, or within half its time for a ticket given less than
    twice that (an urgent ticket is not "due soon" the moment it opens; not
    yet past it), ``overdue`` past it, ``escalated``
    ``escalate_after`` past it. Oldest deadline first."""
    rows = conn.execute(
        """SELECT t.id, st.stage, t.due_at
           FROM tickets t
           CROSS JOIN LATERAL (VALUES
               ('due', t.due_at - least(%(soon)s, (t.due_at - t.created_at) / 2) <= %(now)s
                       AND %(now)s < t.due_at),
               ('overdue', t.due_at <= %(now)s),
               ('escalated', t.due_at + %(late)s <= %(now)s)) AS st (stage, reached)
           WHERE t.state NOT IN ('resolved', 'closed') AND st.reached
             AND NOT EXISTS (SELECT 1 FROM ticket_notices n
                             WHERE n.ticket_id = t.id AND n.stage = st.stage
                               AND n.due_at = t.due_at)
           ORDER BY t.due_at, t.id,
                    array_position(ARRAY['due', 'overdue', 'escalated'], st.stage)""",
        {"now": now, "soon": due_soon, "late": escalate_after},
    ).fetchall()
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


def mark(
    conn: Conn, ticket_id: int, stage: str, due_at: datetime, *, now: datetime, recipients: int
) -> None:
    """Record that the stage's notice was queued (once: a second call is a no-op)."""
    conn.execute(
        "INSERT INTO ticket_notices (ticket_id, stage, due_at, queued_at, recipients)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
        (ticket_id, stage, due_at, now, recipients),
    )
