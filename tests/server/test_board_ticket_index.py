"""A board's tickets are read by an index led by the board (migration 0061):
the board page and the ticket lists' board filter do not read every
unfinished ticket of the fleet."""

from __future__ import annotations

from typing import Any

import psycopg


def test_a_boards_tickets_in_due_order_are_read_by_its_index(
    db: psycopg.Connection[Any],
) -> None:
    db.execute("SET enable_seqscan = off")  # an empty table: judge the indexes only
    plan = "\n".join(
        row[0]
        for row in db.execute(
            "EXPLAIN (COSTS OFF) SELECT id FROM tickets WHERE board_id = 'b-1'"
            " AND state = ANY ('{open,assigned}') ORDER BY due_at, id LIMIT 11"
        )
    )
    assert "tickets_board_idx" in plan
    assert "Sort" not in plan  # read in the lists' order
