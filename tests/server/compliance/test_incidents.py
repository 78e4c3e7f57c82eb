"""A non-compliant day raises one compliance incident, the next morning."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings
from fleet_server.engine.service import Engine
from tests.server.compliance.conftest import DAY, Conn, Days, at
from tests.support.clock import Clock
from tests.support.wait import wait_for

NEXT = DAY + timedelta(days=1)


def failed_day(days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "06:30"), at(DAY, "07:01"), on=False)
    days.samples("lc-mlt-01", at(DAY, "07:01"), at(DAY, "10:00"))
    days.samples("lc-mlt-01", at(DAY, "10:00"), at(DAY, "11:00"), on=False)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"))


def compliance_incidents(conn: Conn) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT class, severity, state, board_id, details FROM incidents"
        " WHERE rule = 'broadcast_noncompliant'"
    ).fetchall()
    conn.commit()
    return rows


def test_opened_the_next_morning_once(conn: Conn, days: Days) -> None:
    failed_day(days)
    job = ComplianceJob(ComplianceSettings())
    job.run(conn, at(NEXT, "00:05"))
    conn.commit()
    assert days.day("lc-mlt-01", DAY)["status"] == "non_compliant"
    job.run(conn, at(NEXT, "06:59"))
    assert compliance_incidents(conn) == []
    job.run(conn, at(NEXT, "07:00"))
    job.run(conn, at(NEXT, "07:30"))
    conn.commit()
    [(klass, severity, state, board, details)] = compliance_incidents(conn)
    assert (klass, severity, state, board) == ("compliance", "minor", "open", "lc-mlt-01")
    assert details["day"] == DAY.isoformat()
    assert details["morning_minutes"] == 179.0
    assert details["thresholds_minutes"] == {"morning": 180.0, "afternoon": 180.0}


def test_a_resolved_incident_is_not_raised_again(conn: Conn, days: Days) -> None:
    failed_day(days)
    job = ComplianceJob(ComplianceSettings())
    job.run(conn, at(NEXT, "07:05"))
    conn.execute("UPDATE incidents SET state = 'resolved', resolved_at = now()")
    conn.commit()
    job.run(conn, at(NEXT, "09:00"))
    conn.commit()
    assert [r[2] for r in compliance_incidents(conn)] == ["resolved"]


def test_unknown_and_old_days_raise_nothing(conn: Conn, days: Days) -> None:
    days.samples("lc-mlt-01", at(DAY, "07:01"), at(DAY, "10:00"))  # unknown, not failed
    failed_day_long_ago = DAY - timedelta(days=10)
    days.samples(
        "lc-mlt-02", at(failed_day_long_ago, "06:30"), at(failed_day_long_ago, "18:00"), on=False
    )
    ComplianceJob(ComplianceSettings()).run(conn, at(NEXT, "08:00"))
    conn.commit()
    assert days.day("lc-mlt-02", failed_day_long_ago)["status"] == "non_compliant"
    assert compliance_incidents(conn) == []


def test_the_engine_runs_the_job_and_notifies(db_url: str, conn: Conn, days: Days) -> None:
    contact = conn.execute(
        "INSERT INTO contacts (name, email) VALUES ('Sở TT&TT', 'so@example.vn') RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    conn.execute(
        "INSERT INTO notification_routes (incident_class, min_severity, channel, contact_id)"
        " VALUES ('compliance', 'minor', 'email', %s)",
        (contact,),
    )
    conn.commit()
    failed_day(days)
    engine = Engine(db_url, clock=lambda: at(NEXT, "07:10"))
    with psycopg.connect(db_url, autocommit=True) as engine_conn:
        engine.run_compliance(engine_conn)
    [(klass, _, state, board, _)] = compliance_incidents(conn)
    assert (klass, state, board) == ("compliance", "open", "lc-mlt-01")
    opened = conn.execute(
        "SELECT count(*) FROM incident_events e JOIN incidents i ON i.id = e.incident_id"
        " WHERE i.rule = 'broadcast_noncompliant' AND e.kind = 'opened'"
    ).fetchone()
    assert opened == (1,)
    queued = conn.execute(
        "SELECT o.kind FROM notification_outbox o JOIN incidents i ON i.id = o.incident_id"
        " WHERE i.rule = 'broadcast_noncompliant'"
    ).fetchall()
    assert queued == [("incident_opened",)]


def test_the_leading_engine_runs_the_job_beside_its_passes(
    db_url: str, conn: Conn, days: Days
) -> None:
    failed_day(days)
    engine = Engine(db_url, clock=lambda: at(NEXT, "07:10"))
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: compliance_incidents(conn), timeout=60, what="compliance incident")
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()


def test_late_data_resolves_through_the_lifecycle_and_cancels_the_pending_notice(
    db_url: str, conn: Conn, days: Days
) -> None:
    """The job opens and resolves its incidents as every incident is: a
    notice queued for the opening is cancelled when late data clears the day
    before anybody was told (it used to stay queued and go out after the end)."""
    contact = conn.execute(
        "INSERT INTO contacts (name, email) VALUES ('Sở TT&TT', 'so@example.vn') RETURNING id"
    ).fetchone()[0]  # type: ignore[index]
    conn.execute(
        "INSERT INTO notification_routes (incident_class, min_severity, channel, contact_id)"
        " VALUES ('compliance', 'minor', 'email', %s)",
        (contact,),
    )
    conn.commit()
    # Stored an hour ago: only the first run measures them, so the day's
    # verdict set below stands (as if late data had cleared it).
    stored = datetime.now(UTC) - timedelta(hours=1)
    for start, end, on in (("06:30", "07:01", False), ("07:01", "10:00", True)):
        days.samples("lc-mlt-01", at(DAY, start), at(DAY, end), on=on, stored_at=stored)
    days.samples("lc-mlt-01", at(DAY, "10:00"), at(DAY, "11:00"), on=False, stored_at=stored)
    days.samples("lc-mlt-01", at(DAY, "14:00"), at(DAY, "17:00"), stored_at=stored)
    clock = Clock(at(NEXT, "07:05"))
    engine = Engine(db_url, clock=clock)
    with psycopg.connect(db_url, autocommit=True) as engine_conn:
        engine.run_compliance(engine_conn)
    [(_, _, state, _, _)] = compliance_incidents(conn)
    assert state == "open"
    # The day is judged again and passes.
    conn.execute(
        "UPDATE compliance_days SET status = 'compliant' WHERE board_id = 'lc-mlt-01' AND day = %s",
        (DAY,),
    )
    conn.commit()
    clock.set(at(NEXT, "08:00"))
    with psycopg.connect(db_url, autocommit=True) as engine_conn:
        engine.run_compliance(engine_conn)
    [(_, _, state, _, _)] = compliance_incidents(conn)
    assert state == "resolved"
    outbox = conn.execute(
        "SELECT o.kind, o.state FROM notification_outbox o JOIN incidents i"
        " ON i.id = o.incident_id WHERE i.rule = 'broadcast_noncompliant' ORDER BY o.id"
    ).fetchall()
    assert outbox == [("incident_opened", "cancelled")]
