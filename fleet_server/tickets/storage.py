"""Tickets in PostgreSQL: creation (by hand or by a rule), transitions,
comments, costs, links to incidents."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import class_row

from fleet_server.tickets.models import Sla, TicketError, check_transition

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class Ticket:
    id: int
    board_id: str | None
    site_id: int
    kind: str
    priority: str
    state: str
    title: str
    assignee: str | None
    team: str | None
    due_at: datetime
    source_key: str | None
    closed_at: datetime | None


_COLUMNS = (
    "id, board_id, site_id, kind, priority, state, title, assignee, team, due_at,"
    " source_key, closed_at"
)


def get(conn: Conn, ticket_id: int) -> Ticket | None:
    with conn.cursor(row_factory=class_row(Ticket)) as cur:
        return cur.execute(f"SELECT {_COLUMNS} FROM tickets WHERE id = %s", (ticket_id,)).fetchone()


def _event(
    conn: Conn,
    ticket_id: int,
    at: datetime,
    actor: str,
    kind: str,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO ticket_events (ticket_id, at, actor, kind, from_state, to_state, note)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s)",
        (ticket_id, at, actor, kind, from_state, to_state, note),
    )


def create(
    conn: Conn,
    *,
    site_id: int,
    board_id: str | None,
    kind: str,
    priority: str,
    title: str,
    actor: str,
    now: datetime,
    description: str = "",
    source_key: str | None = None,
    sla: Sla | None = None,
) -> tuple[Ticket, bool]:
    """Create a ticket (team from the site); with ``source_key``, return the
    open ticket of that key instead of a second one. True when created."""
    if source_key is not None:
        with conn.cursor(row_factory=class_row(Ticket)) as cur:
            existing = cur.execute(
                f"SELECT {_COLUMNS} FROM tickets WHERE source_key = %s"
                " AND state NOT IN ('resolved', 'closed')",
                (source_key,),
            ).fetchone()
        if existing is not None:
            return existing, False
    due = (sla or Sla()).due(priority, now)
    with conn.cursor(row_factory=class_row(Ticket)) as cur:
        ticket = cur.execute(
            f"""INSERT INTO tickets (board_id, site_id, kind, priority, state, title,
                                     description, team, due_at, source_key, created_by,
                                     created_at, updated_at)
                VALUES (%s, %s, %s, %s, 'open', %s, %s,
                        (SELECT team FROM site_teams WHERE site_id = %s), %s, %s, %s, %s, %s)
                RETURNING {_COLUMNS}""",
            (
                board_id,
                site_id,
                kind,
                priority,
                title,
                description,
                site_id,
                due,
                source_key,
                actor,
                now,
                now,
            ),
        ).fetchone()
    assert ticket is not None
    _event(conn, ticket.id, now, actor, "created", to_state="open", note=title)
    return ticket, True


def transition(
    conn: Conn, ticket_id: int, target: str, *, actor: str, now: datetime, note: str | None = None
) -> Ticket:
    ticket = get(conn, ticket_id)
    if ticket is None:
        raise TicketError(f"ticket {ticket_id} does not exist")
    check_transition(ticket.state, target, note)
    stamps = {"resolved": ", resolved_at = %(now)s", "closed": ", closed_at = %(now)s"}
    conn.execute(
        f"UPDATE tickets SET state = %(target)s, updated_at = %(now)s"
        f"{stamps.get(target, '')}"
        f"{', closing_note = %(note)s' if target == 'closed' else ''} WHERE id = %(id)s",
        {"target": target, "now": now, "note": note, "id": ticket_id},
    )
    _event(
        conn,
        ticket_id,
        now,
        actor,
        "transition",
        from_state=ticket.state,
        to_state=target,
        note=note,
    )
    updated = get(conn, ticket_id)
    assert updated is not None
    return updated


def assign(conn: Conn, ticket_id: int, assignee: str, *, actor: str, now: datetime) -> Ticket:
    ticket = get(conn, ticket_id)
    if ticket is None:
        raise TicketError(f"ticket {ticket_id} does not exist")
    if ticket.state in ("resolved", "closed"):
        raise TicketError(f"a {ticket.state} ticket cannot be assigned")
    conn.execute(
        "UPDATE tickets SET assignee = %s, updated_at = %s WHERE id = %s",
        (assignee, now, ticket_id),
    )
    _event(conn, ticket_id, now, actor, "assigned", note=assignee)
    if ticket.state == "open":
        return transition(conn, ticket_id, "assigned", actor=actor, now=now)
    updated = get(conn, ticket_id)
    assert updated is not None
    return updated


def comment(conn: Conn, ticket_id: int, text: str, *, actor: str, now: datetime) -> None:
    if not text.strip():
        raise TicketError("a comment cannot be empty")
    _event(conn, ticket_id, now, actor, "comment", note=text)


def add_cost(
    conn: Conn,
    ticket_id: int,
    *,
    category: str,
    description: str,
    amount_vnd: Decimal,
    actor: str,
    now: datetime,
    quantity: Decimal = Decimal(1),
) -> None:
    try:
        with conn.transaction():  # a savepoint: a refused row leaves the caller's work intact
            conn.execute(
                "INSERT INTO ticket_costs (ticket_id, category, description, quantity,"
                " amount_vnd, recorded_by, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (ticket_id, category, description, quantity, amount_vnd, actor, now),
            )
    except psycopg.errors.CheckViolation as exc:
        raise TicketError(f"cost refused: {exc.diag.message_primary}") from exc
    _event(conn, ticket_id, now, actor, "cost", note=f"{category}: {amount_vnd} VND")


def link_incident(
    conn: Conn, ticket_id: int, incident_id: int, *, actor: str, now: datetime
) -> None:
    row = conn.execute(
        "INSERT INTO ticket_incidents (ticket_id, incident_id) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (ticket_id, incident_id),
    ).fetchone()
    if row:
        _event(conn, ticket_id, now, actor, "linked", note=f"incident {incident_id}")


def costs_by_category(conn: Conn, ticket_id: int) -> dict[str, Decimal]:
    rows = conn.execute(
        "SELECT category, sum(quantity * amount_vnd) FROM ticket_costs"
        " WHERE ticket_id = %s GROUP BY category",
        (ticket_id,),
    ).fetchall()
    return {r[0]: r[1] for r in rows}
