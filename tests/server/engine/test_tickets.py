"""Tickets: state machine, SLA, costs by budget line, links to incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fleet_server.tickets import storage as tickets
from fleet_server.tickets import storage_costs as costs
from fleet_server.tickets.models import Sla, TicketError, TicketValueError, check_transition
from tests.server.engine.conftest import Conn
from tests.support import seed

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def site_id(conn: Conn, code: str = "ma-lu-thang") -> int:
    row = conn.execute("SELECT id FROM sites WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize(
    ("current", "target"),
    [
        ("open", "resolved"),
        ("closed", "open"),
        ("assigned", "closed"),
        ("resolved", "open"),
    ],
)
def test_illegal_transitions_are_refused_with_the_reason(current: str, target: str) -> None:
    with pytest.raises(TicketError, match=f"cannot go from {current} to {target}"):
        check_transition(current, target, "note")


def test_closing_needs_a_note() -> None:
    with pytest.raises(TicketError, match="needs a note"):
        check_transition("resolved", "closed", " ")


def test_sla_due_time_per_priority() -> None:
    assert Sla().due("urgent", NOW) == NOW + timedelta(hours=4)
    assert Sla().due("low", NOW) == NOW + timedelta(days=7)


def test_lifecycle_with_costs(engine_conn: Conn) -> None:
    conn = engine_conn
    seed.site_team(conn, "ma-lu-thang", "to-phong-tho")
    ticket, created = tickets.create(
        conn,
        site_id=site_id(conn),
        board_id="lc-ma-lu-thang-01",
        kind="corrective",
        priority="high",
        title="Thay UPS",
        actor="op",
        now=NOW,
    )
    assert created
    assert ticket.team == "to-phong-tho"
    assert ticket.due_at == NOW + timedelta(hours=24)
    ticket = tickets.assign(conn, ticket.id, "tech.an", actor="op", now=NOW)
    assert (ticket.state, ticket.assignee) == ("assigned", "tech.an")
    for target in ("in_progress", "resolved"):
        ticket = tickets.transition(conn, ticket.id, target, actor="tech.an", now=NOW)
    costs.add_cost(
        conn,
        ticket.id,
        category="power",
        description="UPS 1 kVA",
        amount_vnd=Decimal(4_500_000),
        actor="tech.an",
        now=NOW,
    )
    costs.add_cost(
        conn,
        ticket.id,
        category="repair",
        description="công thợ",
        amount_vnd=Decimal(300_000),
        quantity=Decimal(2),
        actor="tech.an",
        now=NOW,
    )
    with pytest.raises(TicketValueError, match="cost refused"):
        costs.add_cost(
            conn,
            ticket.id,
            category="power",
            description="x",
            amount_vnd=Decimal(-1),
            actor="tech.an",
            now=NOW,
        )
    assert costs.costs_by_category(conn, ticket.id) == {
        "power": Decimal(4_500_000),
        "repair": Decimal(600_000),
    }
    ticket = tickets.transition(
        conn, ticket.id, "closed", actor="tech.an", now=NOW, note="Đã thay UPS, chạy thử 1 giờ"
    )
    assert ticket.state == "closed"
    with pytest.raises(TicketError):
        tickets.transition(conn, ticket.id, "in_progress", actor="tech.an", now=NOW)


def test_rule_tickets_are_not_duplicated(engine_conn: Conn) -> None:
    args = {
        "site_id": site_id(engine_conn),
        "board_id": None,
        "kind": "corrective",
        "priority": "urgent",
        "title": "x",
        "actor": "engine",
        "now": NOW,
        "source_key": "site:1:site_outage",
    }
    first, created = tickets.create(engine_conn, **args)  # type: ignore[arg-type]
    again, created_again = tickets.create(engine_conn, **args)  # type: ignore[arg-type]
    assert created
    assert not created_again
    assert again.id == first.id
