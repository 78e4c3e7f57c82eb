"""A ticket's costs in PostgreSQL, on the Điều 11 budget lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.tickets.models import COST_CATEGORIES, TicketValueError
from fleet_server.tickets.schemas import CostOut
from fleet_server.tickets.storage import Conn, add_event

_COST_SELECT = """
    SELECT id, ticket_id, category, description, quantity, amount_vnd,
           round(quantity * amount_vnd) AS total_vnd, recorded_by, recorded_at
    FROM ticket_costs
"""


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
        raise TicketValueError(f"cost refused: {exc.diag.message_primary}") from exc
    add_event(conn, ticket_id, now, actor, "cost", note=f"{category}: {amount_vnd} VND")


def costs_by_category(conn: Conn, ticket_id: int) -> dict[str, Decimal]:
    rows = conn.execute(
        "SELECT category, sum(quantity * amount_vnd) FROM ticket_costs"
        " WHERE ticket_id = %s GROUP BY category",
        (ticket_id,),
    ).fetchall()
    return {r[0]: r[1] for r in rows}


#: Per budget line, the sum of a ticket's rounded line totals (its id the one parameter).
TOTALS = (
    "SELECT category, sum(round(quantity * amount_vnd)) AS amount FROM ticket_costs"
    " WHERE ticket_id = %s GROUP BY category"
)
#: A ticket's costs, oldest first (its id the one parameter).
COSTS = f"{_COST_SELECT} WHERE ticket_id = %s ORDER BY recorded_at, id"


def totals_of(rows: Iterable[tuple[Any, Any]]) -> dict[str, int]:
    """:data:`TOTALS`' (category, amount) rows with every line present, 0 if none."""
    sums = dict.fromkeys(COST_CATEGORIES, 0)
    for category, amount in rows:
        sums[str(category)] = int(amount)
    return sums


def totals(conn: Conn, ticket_id: int) -> dict[str, int]:
    """Per budget line, the sum of the rounded line totals (so they add up);
    every line present, 0 if none."""
    return totals_of(conn.execute(TOTALS, (ticket_id,)).fetchall())


def costs_of(conn: Conn, ticket_id: int) -> list[CostOut]:
    """All the ticket's costs, oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(COSTS, (ticket_id,)).fetchall()
    return [CostOut.model_validate(c) for c in rows]


def last_cost(conn: Conn, ticket_id: int) -> CostOut:
    """The ticket's newest cost (the one just recorded)."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_COST_SELECT} WHERE ticket_id = %s ORDER BY id DESC LIMIT 1", (ticket_id,)
        ).fetchone()
    return CostOut.model_validate(row)


def cost_page(
    conn: Conn, ticket_id: int, paging: ListParams, *, category: str | None = None
) -> Page[CostOut]:
    """One page of the ticket's costs, of one budget line if given."""
    where: list[str] = ["ticket_id = %s"]
    params: list[Any] = [ticket_id]
    if category is not None:
        where.append("category = %s")
        params.append(category)
    return fetch_page(
        conn,
        f"{_COST_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "recorded_at", "category", "amount_vnd", "total_vnd"),
        default="recorded_at",
        tiebreak="id",
        model=CostOut,
    )
