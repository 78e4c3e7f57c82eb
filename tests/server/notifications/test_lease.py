"""Claims are short leases: a dead worker's notices come back within seconds,
a live worker's long send keeps its claims (renewed while it sends)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from fleet_server.errors import ConfigError
from fleet_server.notifications import NotificationSettings, SmtpSettings, enqueue
from fleet_server.notifications.lease import LeaseKeeper
from fleet_server.notifications.storage_worker import claim_due, recover_expired_claims
from fleet_server.settings import Settings
from tests.server.notifications.conftest import (
    Conn,
    Fleet,
    MakeWorker,
    SmtpSink,
    deliveries,
    make_notice,
    outbox,
    technician,
)
from tests.support.clock import Clock
from tests.support.wait import wait_for


def test_the_lease_is_short_and_set_by_fleet_notify_sending_lease_s() -> None:
    assert Settings().notification_settings().sending_lease_s == 30.0
    assert Settings(notify_sending_lease_s=45).notification_settings().sending_lease_s == 45.0
    smtp = SmtpSettings(from_address="canh-bao@bangtin.laichau.gov.vn")
    assert NotificationSettings(smtp=smtp).renew_interval_s == 10.0


def test_a_lease_not_longer_than_two_transport_timeouts_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="FLEET_NOTIFY_SENDING_LEASE_S") as refused:
        Settings(notify_sending_lease_s=20, notify_webhook_timeout_s=10).notification_settings()
    message = str(refused.value)
    assert "smtp.timeout_s" in message
    assert "FLEET_NOTIFY_WEBHOOK_TIMEOUT_S" in message
    smtp = SmtpSettings(from_address="canh-bao@bangtin.laichau.gov.vn")
    with pytest.raises(ConfigError, match="lease_renew_s"):
        NotificationSettings(smtp=smtp, sending_lease_s=30, lease_renew_s=20)


def test_a_notice_claimed_by_a_worker_that_died_is_sent_once_the_lease_expires(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    [outbox_id] = enqueue(db, make_notice(fleet, clock()), now=clock())
    # A worker claims it through the real claim and dies before sending.
    [[claimed]] = claim_due(db, now=clock(), limit=10, window=timedelta(0), worker="engine-2-dead")
    assert claimed.id == outbox_id
    worker = make_worker()  # the default lease: 30 s

    clock.advance(29)
    assert worker.run_once().rows_claimed == 0
    assert smtp_server.messages == []
    clock.advance(2)
    assert worker.run_once().messages_sent == 1

    assert len(smtp_server.messages) == 1
    assert worker.counters.claims_recovered == 1
    assert outbox(db) == [(outbox_id, "sent", 2)]
    assert deliveries(db, outbox_id) == [(False, "claim by engine-2-dead expired"), (True, None)]


def test_a_long_send_by_a_live_worker_keeps_its_claims(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    # Two notices without a site: two messages, the second waits for the first.
    ids = [
        enqueue(db, make_notice(fleet, clock(), site_id=None, incident_id=n), now=clock())[0]
        for n in (1, 2)
    ]
    smtp_server.hold = threading.Event()  # the server takes its time to answer DATA
    sending = make_worker(lease_renew_s=0.05)
    thread = threading.Thread(target=sending.run_once)
    thread.start()
    try:
        assert smtp_server.data_started.wait(10)
        clock.advance(120)  # four leases later, still inside the first send

        def renewed() -> bool:
            rows = db.execute("SELECT claimed_at FROM notification_outbox ORDER BY id").fetchall()
            return rows == [(clock(),), (clock(),)]

        wait_for(renewed, timeout=10, what="the claims renewed at the new time")
        other = make_worker()
        assert other.run_once().rows_claimed == 0
        assert other.counters.claims_recovered == 0
    finally:
        smtp_server.hold.set()
        thread.join(30)

    assert not thread.is_alive()
    assert sending.counters.rows_sent == 2
    assert [m["X-Fleet-Outbox-Ids"] for m in smtp_server.messages] == [str(i) for i in ids]
    assert outbox(db) == [(ids[0], "sent", 1), (ids[1], "sent", 1)]
    for outbox_id in ids:
        assert deliveries(db, outbox_id) == [(True, None)]


def test_a_send_that_outlived_its_claim_counts_if_nobody_claimed_the_notice_again(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    [outbox_id] = enqueue(db, make_notice(fleet, clock()), now=clock())
    smtp_server.hold = threading.Event()
    stalled = make_worker(lease_renew_s=15)  # no renewal during this test
    thread = threading.Thread(target=stalled.run_once)
    thread.start()
    try:
        assert smtp_server.data_started.wait(10)
        clock.advance(31)
        # Another worker takes the claim back, but has not sent it yet.
        lease = timedelta(seconds=30)
        assert recover_expired_claims(db, now=clock(), lease=lease, worker="engine-2") == 1
    finally:
        smtp_server.hold.set()
        thread.join(30)

    assert outbox(db) == [(outbox_id, "sent", 1)]  # delivered: no second copy
    assert make_worker().run_once().rows_claimed == 0
    assert len(smtp_server.messages) == 1
    assert deliveries(db, outbox_id) == [(False, "claim by test-worker-0 expired"), (True, None)]


def test_the_lease_keeper_carries_on_after_a_failed_renewal() -> None:
    calls: list[int] = []
    beat_again = threading.Event()

    def renew() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        beat_again.set()

    with LeaseKeeper(renew, 0.01) as keeper:
        assert beat_again.wait(10)
    assert keeper.renewals >= 1
    assert not any(t.name == "notify-lease" for t in threading.enumerate())  # ended with the block
