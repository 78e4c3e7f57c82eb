"""Tickets in PostgreSQL: creation (by hand or by a rule), transitions,
comments, links to incidents, and the lists and detail the API shows.
Costs are in ``storage_costs``, who may be given a ticket in
``storage_assignees``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row

from fleet_server.access.keyset import Key, Keyset
from fleet_server.access.pagination import CursorPage, ListParams, add_equal, fetch_keyset_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import incidents_condition, sites_condition, tickets_condition
from fleet_server.errors import NotFound
from fleet_server.tickets.models import (
    PRIORITIES,
    STATES,
    Sla,
    TicketError,
    TicketFilter,
    TicketValueError,
    check_transition,
)
from fleet_server.tickets.schemas import LinkedIncident, TicketEventOut, TicketOut

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


def add_event(
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
    add_event(conn, ticket.id, now, actor, "created", to_state="open", note=title)
    return ticket, True


def transition(
    conn: Conn, ticket_id: int, target: str, *, actor: str, now: datetime, note: str | None = None
) -> Ticket:
    ticket = get(conn, ticket_id)
    if ticket is None:
        raise NotFound("ticket", ticket_id)
    check_transition(ticket.state, target, note)
    stamps = {"resolved": ", resolved_at = %(now)s", "closed": ", closed_at = %(now)s"}
    conn.execute(
        f"UPDATE tickets SET state = %(target)s, updated_at = %(now)s"
        f"{stamps.get(target, '')}"
        f"{', closing_note = %(note)s' if target == 'closed' else ''} WHERE id = %(id)s",
        {"target": target, "now": now, "note": note, "id": ticket_id},
    )
    add_event(
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
        raise NotFound("ticket", ticket_id)
    if ticket.state in ("resolved", "closed"):
        raise TicketError(f"a {ticket.state} ticket cannot be assigned")
    conn.execute(
        "UPDATE tickets SET assignee = %s, updated_at = %s WHERE id = %s",
        (assignee, now, ticket_id),
    )
    add_event(conn, ticket_id, now, actor, "assigned", note=assignee)
    if ticket.state == "open":
        return transition(conn, ticket_id, "assigned", actor=actor, now=now)
    updated = get(conn, ticket_id)
    assert updated is not None
    return updated


def comment(conn: Conn, ticket_id: int, text: str, *, actor: str, now: datetime) -> None:
    if not text.strip():
        raise TicketValueError("text: a comment cannot be empty")
    add_event(conn, ticket_id, now, actor, "comment", note=text)


def link_incident(
    conn: Conn, ticket_id: int, incident_id: int, *, actor: str, now: datetime
) -> None:
    row = conn.execute(
        "INSERT INTO ticket_incidents (ticket_id, incident_id) VALUES (%s, %s)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        (ticket_id, incident_id),
    ).fetchone()
    if row:
        add_event(conn, ticket_id, now, actor, "linked", note=f"incident {incident_id}")


# -- what the API shows --------------------------------------------------------------

#: Whether a ticket is overdue at the parameter (a time): due before it and
#: still being worked on.
_OVERDUE = "(t.due_at < %s AND t.state NOT IN ('resolved', 'closed'))"
_SELECT = f"""
    SELECT t.id, t.site_id, s.code AS site_code, s.name AS site_name,
           s.name_en AS site_name_en, t.board_id, t.kind,
           t.priority::ticket_priority_order AS priority,
           t.state::ticket_state_order AS state,
           t.title, t.assignee, t.team, t.due_at,
           {_OVERDUE} AS overdue,
           t.source_key, t.created_by, t.created_at, t.updated_at, t.resolved_at, t.closed_at
    FROM tickets t JOIN sites s ON s.id = t.site_id
"""
#: The sorts of the list; each ends with the id, so equal keys still have one order.
KEYSET = Keyset(
    name="tickets",
    tiebreak=Key("id", "int"),
    sorts={
        "id": Key("id", "int"),
        "created_at": Key("created_at", "timestamp"),
        "updated_at": Key("updated_at", "timestamp"),
        "due_at": Key("due_at", "timestamp"),
        "priority": Key("priority", "text", values=PRIORITIES),  # urgent first
        "state": Key("state", "text", values=STATES),  # in lifecycle order
    },
    default=("created_at",),  # newest first
)


def list_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    now: datetime,
    filters: TicketFilter,
) -> CursorPage[TicketOut]:
    """The tickets ``scope`` sees, filtered."""
    f = filters
    clause, scope_params = tickets_condition(scope, "t.site_id", "t.assignee", "t.team")
    where = [clause]
    params: list[Any] = [now, *scope_params]
    add_equal(
        where,
        params,
        (
            ("t.site_id", f.site_id),
            ("t.board_id", f.board_id),
            ("t.assignee", f.assignee),
            ("t.team", f.team),
            ("t.kind", f.kind),
            ("t.priority", f.priority),
        ),
    )
    if f.states:
        where.append("t.state = ANY(%s)")
        params.append(list(f.states))
    if f.overdue is not None:
        where.append(_OVERDUE if f.overdue else f"NOT {_OVERDUE}")
        params.append(now)
    return fetch_keyset_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        keyset=KEYSET,
        model=TicketOut,
    )


def ticket_row_query(
    scope: Scope, ticket_id: int, *, now: datetime, lock: bool = False
) -> tuple[str, list[Any]]:
    """:func:`ticket_row`'s statement and parameters."""
    clause, params = tickets_condition(scope, "t.site_id", "t.assignee", "t.team")
    return (
        f"""SELECT x.*, t2.description, t2.closing_note
            FROM ({_SELECT} WHERE t.id = %s AND {clause}) x
            JOIN tickets t2 ON t2.id = x.id {"FOR UPDATE OF t2" if lock else ""}""",
        [now, ticket_id, *params],
    )


def ticket_row(
    conn: Conn, scope: Scope, ticket_id: int, *, now: datetime, lock: bool = False
) -> dict[str, Any] | None:
    """The ticket as a row dict (with description and closing note), or None
    when it does not exist or ``scope`` does not see it."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(*ticket_row_query(scope, ticket_id, now=now, lock=lock)).fetchone()


#: A ticket's timeline, oldest first (its id the one parameter).
EVENTS = (
    "SELECT id, at, actor, kind, from_state, to_state, note FROM ticket_events"
    " WHERE ticket_id = %s ORDER BY at, id"
)


def events(conn: Conn, ticket_id: int) -> list[TicketEventOut]:
    """The ticket's timeline, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(EVENTS, (ticket_id,)).fetchall()
    return [TicketEventOut.model_validate(e) for e in rows]


def last_comment(conn: Conn, ticket_id: int) -> TicketEventOut:
    """The ticket's newest comment (the one just written)."""
    with conn.cursor(row_factory=dict_row) as cur:
        event = cur.execute(
            "SELECT id, at, actor, kind, from_state, to_state, note FROM ticket_events"
            " WHERE ticket_id = %s AND kind = 'comment' ORDER BY id DESC LIMIT 1",
            (ticket_id,),
        ).fetchone()
    return TicketEventOut.model_validate(event)


#: The incidents a ticket was opened for, oldest first (its id the one parameter).
LINKED_INCIDENTS = (
    "SELECT i.id, i.rule, i.severity, i.state, i.title, i.board_id, i.opened_at,"
    " i.resolved_at FROM ticket_incidents ti JOIN incidents i ON i.id = ti.incident_id"
    " WHERE ti.ticket_id = %s ORDER BY i.opened_at, i.id"
)


def linked_incidents(conn: Conn, ticket_id: int) -> list[LinkedIncident]:
    """The incidents the ticket was opened for, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(LINKED_INCIDENTS, (ticket_id,)).fetchall()
    return [LinkedIncident.model_validate(i) for i in rows]


def of_incident(conn: Conn, scope: Scope, incident_id: int, *, now: datetime) -> list[TicketOut]:
    """The tickets ``scope`` sees that were opened for an incident, newest first."""
    clause, params = tickets_condition(scope, "t.site_id", "t.assignee", "t.team")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_SELECT} WHERE t.id IN (SELECT ticket_id FROM ticket_incidents"
            f" WHERE incident_id = %s) AND {clause} ORDER BY t.created_at DESC, t.id DESC LIMIT 50",
            [now, incident_id, *params],
        ).fetchall()
    return [TicketOut.model_validate(r) for r in rows]


# -- where a new ticket goes -----------------------------------------------------------


def board_site(conn: Conn, scope: Scope, board_id: str) -> int | None:
    """The site of a board ``scope`` sees, or None."""
    clause, params = sites_condition(scope, "s.id")
    found = conn.execute(
        f"SELECT b.site_id FROM boards b JOIN sites s ON s.id = b.site_id"
        f" WHERE b.id = %s AND {clause}",
        [board_id, *params],
    ).fetchone()
    return None if found is None else int(found[0])


def site_visible(conn: Conn, scope: Scope, site_id: int) -> bool:
    """Whether the site exists and ``scope`` sees it."""
    clause, params = sites_condition(scope, "s.id")
    seen = conn.execute(f"SELECT 1 FROM sites s WHERE s.id = %s AND {clause}", [site_id, *params])
    return seen.fetchone() is not None


def incident_sites(conn: Conn, scope: Scope, incident_ids: Sequence[int]) -> dict[int, int]:
    """incident id -> site id, of those of ``incident_ids`` that ``scope`` sees."""
    clause, params = incidents_condition(scope, "i.site_id", "i.rule")
    return {
        int(r[0]): r[1]
        for r in conn.execute(
            f"SELECT i.id, i.site_id FROM incidents i WHERE i.id = ANY(%s) AND {clause}",
            [list(incident_ids), *params],
        )
    }
