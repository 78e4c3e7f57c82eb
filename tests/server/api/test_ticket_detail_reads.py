"""A ticket's page reads the ticket, its timeline, costs, totals and linked
incidents in one round trip (``tickets.storage_detail``): the same answers
as the five reads one after another, for each scope that sees the ticket,
and nothing for one that does not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleet_server.access.scope import Scope
from fleet_server.tickets import storage, storage_costs
from fleet_server.tickets.storage_detail import ticket_parts
from tests.server.api.conftest import open_test_incident

BOARD = "lc-ma-lu-thang-01"


def test_one_round_trip_reads_what_five_did(as_: Any, db_conn: Any) -> None:
    incidents = [
        open_test_incident(db_conn, BOARD),
        open_test_incident(db_conn, BOARD, "display_dark"),
    ]
    made = as_("operator").post(
        "/api/v1/tickets", json={"board_id": BOARD, "title": "Tối", "incident_ids": incidents}
    )
    assert made.status_code == 201, made.text
    ticket = made.json()["id"]
    base = f"/api/v1/tickets/{ticket}"
    assert as_("technician").post(f"{base}/comments", json={"text": "Đã tới"}).status_code == 201
    for category, amount, quantity in (("power", 1_250_000, "2"), ("internet", 99_999, "0.5")):
        body = {
            "category": category,
            "description": "x",
            "amount_vnd": amount,
            "quantity": quantity,
        }
        assert as_("technician").post(f"{base}/costs", json=body).status_code == 201
    now = datetime.now(UTC)
    organisation = db_conn.execute(
        "SELECT s.organisation_id FROM tickets t JOIN sites s ON s.id = t.site_id WHERE t.id = %s",
        (ticket,),
    ).fetchone()[0]
    for scope in (Scope.everything(), Scope(organisation_id=organisation)):
        parts = ticket_parts(db_conn, scope, ticket, now=now)
        assert parts is not None
        assert parts.row == storage.ticket_row(db_conn, scope, ticket, now=now)
        assert parts.events == storage.events(db_conn, ticket)
        assert [e.kind for e in parts.events].count("cost") == 2
        assert parts.costs == storage_costs.costs_of(db_conn, ticket)
        assert len(parts.costs) == 2
        assert parts.totals == storage_costs.totals(db_conn, ticket)
        assert parts.totals["power"] == 2_500_000
        assert parts.incidents == storage.linked_incidents(db_conn, ticket)
        assert sorted(i.id for i in parts.incidents) == sorted(incidents)
    assert ticket_parts(db_conn, Scope(organisation_id=-1), ticket, now=now) is None
    assert ticket_parts(db_conn, Scope.everything(), 2**40, now=now) is None
