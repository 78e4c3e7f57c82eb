"""One ticket as its page shows it, in one round trip: the ticket (scoped),
its timeline, costs, totals per budget line and the incidents it was opened
for, five statements sent together in pipeline mode instead of one after
another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.scope import Scope
from fleet_server.tickets import storage, storage_costs
from fleet_server.tickets.schemas import CostOut, LinkedIncident, TicketEventOut
from fleet_server.tickets.storage import Conn


@dataclass(frozen=True, slots=True)
class TicketParts:
    row: dict[str, Any]
    events: list[TicketEventOut]
    costs: list[CostOut]
    totals: dict[str, int]
    incidents: list[LinkedIncident]


def _sent(conn: Conn, query: str, params: Any) -> psycopg.Cursor[dict[str, Any]]:
    cur = conn.cursor(row_factory=dict_row)
    cur.execute(query, params)
    return cur


def ticket_parts(conn: Conn, scope: Scope, ticket_id: int, *, now: datetime) -> TicketParts | None:
    """The ticket and what its page lists, or None when it does not exist or
    ``scope`` does not see it (what was read with it is then dropped)."""
    one = (ticket_id,)
    with conn.pipeline():
        row = _sent(conn, *storage.ticket_row_query(scope, ticket_id, now=now))
        events = _sent(conn, storage.EVENTS, one)
        costs = _sent(conn, storage_costs.COSTS, one)
        totals = _sent(conn, storage_costs.TOTALS, one)
        incidents = _sent(conn, storage.LINKED_INCIDENTS, one)
    with row, events, costs, totals, incidents:  # the block's end received every answer
        found = row.fetchone()
        if found is None:
            return None
        return TicketParts(
            row=found,
            events=[TicketEventOut.model_validate(r) for r in events.fetchall()],
            costs=[CostOut.model_validate(r) for r in costs.fetchall()],
            totals=storage_costs.totals_of((r["category"], r["amount"]) for r in totals.fetchall()),
            incidents=[LinkedIncident.model_validate(r) for r in incidents.fetchall()],
        )
