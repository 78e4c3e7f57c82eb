"""Incidents to people: one notice per site outage, no notice for a blip,
maintenance holds, reminders and escalation, auto-tickets — through the real
outbox, worker and an SMTP server."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import pytest

from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.incidents import storage as incidents_db
from fleet_server.notifications.storage_worker import claim_due, recover_expired_claims
from fleet_server.notifications.worker import NotificationWorker
from tests.server.engine.conftest import Conn, Store, incidents, notice_worker
from tests.server.notifications.conftest import SmtpSink, add_contact, add_route
from tests.support.clock import Clock

A, B = "lc-ma-lu-thang-01", "lc-ma-lu-thang-02"
C = "lc-sin-ho-01"


@pytest.fixture
def duty(admin: Conn) -> int:
    """The technicians' desk gets every technical incident."""
    contact = add_contact(admin, "Tổ kỹ thuật", email="kythuat@example.vn")
    add_route(admin, contact, incident_class="technical")
    return contact


@pytest.fixture
def worker(seeded: str, smtp: SmtpSink, clock: Clock) -> Iterator[NotificationWorker]:
    with notice_worker(seeded, smtp, clock, worker_id="engine-test") as w:
        yield w


def mails(smtp: SmtpSink) -> list[EmailMessage]:
    return list(smtp.messages)


def test_site_outage_is_one_notice_not_one_per_board(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    duty: int,
    worker: NotificationWorker,
    smtp: SmtpSink,
) -> None:
    engine = Engine(seeded, clock=clock)
    for board in (A, B):
        store.state(board, "online")
    engine.evaluate(engine_conn)
    for board in (A, B):
        store.state(board, "lost")
    engine.evaluate(engine_conn)
    clock.advance(121)
    engine.evaluate(engine_conn)
    worker.run_once()
    assert len(mails(smtp)) == 1
    assert "Toàn điểm" in str(mails(smtp)[0]["Subject"])


def test_a_blip_sends_nothing(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    duty: int,
    worker: NotificationWorker,
    smtp: SmtpSink,
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    clock.advance(10)
    store.state(C, "online")  # back after 10 s
    engine.evaluate(engine_conn)
    clock.advance(60)
    engine.evaluate(engine_conn)  # clear-for passed: resolved, notice not yet due
    assert incidents(engine_conn)[0][2] == "resolved"
    clock.advance(3600)
    worker.run_once()
    assert mails(smtp) == []


def test_a_real_outage_is_notified_after_the_confirmation(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    duty: int,
    worker: NotificationWorker,
    smtp: SmtpSink,
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    worker.run_once()
    assert mails(smtp) == []  # held for the confirmation period
    clock.advance(121)
    worker.run_once()
    assert len(mails(smtp)) == 1
    assert C in str(mails(smtp)[0]["Subject"]) + mails(smtp)[0].get_content()


def test_resolved_is_sent_when_the_opened_notice_may_have_gone_out(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    admin: Conn,
    duty: int,
    worker: NotificationWorker,
    smtp: SmtpSink,
) -> None:
    """A worker died sending "site down" (the mail server may have taken it);
    its row is pending again when the board comes back: the recipient must
    still hear "resolved", not be left with an outage that never ends."""
    engine = Engine(seeded, clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    clock.advance(121)
    [[opened]] = claim_due(
        admin, now=clock(), limit=10, window=timedelta(0), worker="engine-2-died"
    )
    clock.advance(60)
    assert (
        recover_expired_claims(admin, now=clock(), lease=timedelta(seconds=30), worker="engine")
        == 1
    )
    store.state(C, "online")
    engine.evaluate(engine_conn)
    clock.advance(121)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn)[0][2] == "resolved"
    kinds = admin.execute(
        "SELECT kind, state FROM notification_outbox WHERE incident_id ="
        " (SELECT incident_id FROM notification_outbox WHERE id = %s) ORDER BY id",
        (opened.id,),
    ).fetchall()
    assert ("incident_resolved", "pending") in kinds


def test_maintenance_window_holds_and_releases_only_what_is_still_open(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    admin: Conn,
    duty: int,
    worker: NotificationWorker,
    smtp: SmtpSink,
) -> None:
    site = admin.execute("SELECT id FROM sites WHERE code = 'ma-lu-thang'").fetchone()
    assert site is not None
    admin.execute(
        "INSERT INTO maintenance_windows (site_id, starts_at, ends_at, reason, created_by)"
        " VALUES (%s, %s, %s, 'thay cáp', 'op')",
        (site[0], clock(), clock() + __import__("datetime").timedelta(hours=1)),
    )
    engine = Engine(seeded, clock=clock)
    store.state(A, "online")
    store.state(B, "online")
    store.state(A, "lost")
    engine.evaluate(engine_conn)
    clock.advance(300)
    store.state(A, "online")  # A came back inside the window
    store.state(B, "lost")  # B went down inside the window and stays down
    engine.evaluate(engine_conn)
    clock.advance(61)
    engine.evaluate(engine_conn)  # A resolved
    worker.run_once()
    assert mails(smtp) == []  # held during the window
    clock.advance(3600)
    worker.run_once()
    assert len(mails(smtp)) == 1
    assert B in mails(smtp)[0].get_content()


def test_escalation_and_reminders_stop_when_acknowledged(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
    admin: Conn,
    duty: int,
    worker: NotificationWorker,
    smtp: SmtpSink,
) -> None:
    chief = add_contact(admin, "Trưởng phòng", email="truongphong@example.vn")
    add_route(admin, chief, incident_class="technical", escalation_level=1)
    engine = Engine(seeded, clock=clock)
    for board in (A, B):
        store.state(board, "online")
    for board in (A, B):
        store.state(board, "lost")
    engine.evaluate(engine_conn)  # critical site incident
    clock.advance(901)
    engine.evaluate(engine_conn)
    worker.run_once()
    recipients = [m["To"] for m in mails(smtp)]
    assert "truongphong@example.vn" in " ".join(recipients)
    [site] = [r for r in incidents(engine_conn) if r[1] == "site_outage"]
    kinds = [k for k, _a, _n in incidents_db.events(engine_conn, site[0])]
    assert "escalated" in kinds
    clock.advance(1800)
    engine.evaluate(engine_conn)
    worker.run_once()
    before = len(mails(smtp))
    sent = admin.execute("SELECT kind FROM notification_outbox WHERE state = 'sent'").fetchall()
    assert ("incident_reminder",) in sent
    incidents_db.acknowledge(engine_conn, site[0], clock(), actor="tech.an")
    engine_conn.commit()
    clock.advance(3600)
    engine.evaluate(engine_conn)
    worker.run_once()
    assert len(mails(smtp)) == before  # no reminder after the acknowledgement


def test_board_lost_two_hours_opens_one_urgent_ticket(
    seeded: str,
    store: Store,
    clock: Clock,
    engine_conn: Conn,
) -> None:
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    clock.advance(7199)
    assert engine.evaluate(engine_conn).tickets == []
    clock.advance(2)
    [ticket_id] = engine.evaluate(engine_conn).tickets
    assert engine.evaluate(engine_conn).tickets == []  # not twice
    row = engine_conn.execute(
        "SELECT priority, state, board_id FROM tickets WHERE id = %s", (ticket_id,)
    ).fetchone()
    assert row == ("urgent", "open", C)
    store.state(C, "online")
    engine.evaluate(engine_conn)
    clock.advance(61)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn)[0][2] == "resolved"
    # resolving the incident does not close the ticket: a technician does
    assert engine_conn.execute("SELECT state FROM tickets").fetchone() == ("open",)
