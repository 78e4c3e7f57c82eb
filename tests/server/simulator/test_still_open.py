"""A demo started again on its data directory says what an earlier run left
open: incidents not resolved and tickets neither resolved nor closed,
counted from the database before the engine starts, in one line, Vietnamese
first; nothing at all on a first start (the history leaves nothing open)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from fleet_server.incidents.models import IncidentSpec
from fleet_server.incidents.storage import open_incident, resolve
from fleet_server.simulator.history_records import seed_history
from fleet_server.simulator.seed import fleet_specs, seed
from fleet_server.simulator.stage import StillOpen, still_open
from fleet_server.tickets import storage as tickets

Conn = psycopg.Connection[tuple[Any, ...]]
NOW = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)


def incident(conn: Conn, board: str, rule: str, at: datetime) -> tuple[int, int]:
    """An incident the engine would open on ``board``: (its id, its site)."""
    row = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board,)).fetchone()
    assert row is not None
    spec = IncidentSpec(
        dedupe_key=f"board:{board}:{rule}",
        rule=rule,
        incident_class="technical",
        severity="major",
        title=f"{rule} — {board}",
        board_id=board,
        site_id=int(row[0]),
    )
    opened, _ = open_incident(conn, spec, at, actor=f"engine:{rule}")
    return opened.id, int(row[0])


def ticket(conn: Conn, incident_id: int, site_id: int, board: str, at: datetime) -> int:
    """The automatic ticket of an incident (as engine/alerts.py opens it)."""
    key = conn.execute("SELECT dedupe_key FROM incidents WHERE id = %s", (incident_id,)).fetchone()
    assert key is not None
    made, _ = tickets.create(
        conn,
        site_id=site_id,
        board_id=board,
        kind="corrective",
        priority="high",
        title=f"ticket — {board}",
        actor="engine:auto-ticket",
        now=at,
        source_key=str(key[0]),
    )
    tickets.link_incident(conn, made.id, incident_id, actor="engine:auto-ticket", now=at)
    return made.id


def test_an_earlier_runs_open_incidents_and_tickets_are_counted_and_said(db_url: str) -> None:
    inventory = fleet_specs(6)
    boards = [b.device_id for _, b in inventory]
    with psycopg.connect(db_url) as conn:
        seed(conn, inventory)
        assert seed_history(conn, [b for _, b in inventory], NOW) is not None
        conn.commit()
        # A first start: the week's history is all resolved and closed.
        assert still_open(conn) == StillOpen(0, 0)
        assert still_open(conn).line() is None

        # An earlier run: three incidents, one since resolved; two tickets,
        # one of them closed by a technician.
        at = NOW + timedelta(minutes=5)
        camera, site = incident(conn, boards[0], "camera_unreachable", at)
        display, _ = incident(conn, boards[1], "display_dark", at)
        power, power_site = incident(conn, boards[2], "mains_lost", at)
        resolve(conn, power, at + timedelta(minutes=2), actor="engine:mains_lost")
        ticket(conn, camera, site, boards[0], at + timedelta(minutes=1))
        closed = ticket(conn, display, power_site, boards[1], at + timedelta(minutes=1))
        conn.execute(
            "UPDATE tickets SET state = 'closed', closed_at = %s WHERE id = %s", (at, closed)
        )
        conn.commit()

        found = still_open(conn)
    assert found == StillOpen(incidents=2, tickets=1)
    line = found.line()
    assert line is not None
    assert "\n" not in line
    vi, en = line.split(" / ")
    assert vi.startswith("còn mở từ lần chạy trước: 2 sự cố, 1 phiếu bảo trì;")
    assert "tự đóng" in vi
    assert "phiếu chờ kỹ thuật viên" in vi
    assert en.startswith("still open from an earlier run: 2 incidents, 1 ticket;")
    assert "resolve (with notices) or stay open as the boards report" in en
    assert "tickets wait for a technician" in en


def test_the_line_counts_in_english_and_is_said_for_tickets_alone() -> None:
    line = StillOpen(incidents=1, tickets=0).line()
    assert line is not None
    assert "1 sự cố, 0 phiếu bảo trì" in line
    assert "earlier run: 1 incident, 0 tickets;" in line
    assert "earlier run: 0 incidents, 3 tickets;" in (StillOpen(0, 3).line() or "")
