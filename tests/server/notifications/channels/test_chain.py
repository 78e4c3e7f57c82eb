"""The fallback chain: a notice goes to a person's first channel and, when
that fails for good, keeps failing, or is not confirmed in time, to the next
one; every attempt is recorded; no channel is given the same notice twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from fleet_server.notifications import enqueue
from fleet_server.notifications.channels.base import ContactCard, Delivery
from fleet_server.notifications.channels.sms import SmsChannel
from fleet_server.notifications.models import Channel, OutgoingMessage
from fleet_server.notifications.storage_chain import delivery_report
from fleet_server.notifications.worker import NotificationWorker
from tests.server.notifications.channels.conftest import Provider, Reply
from tests.server.notifications.channels.people import attempts, channel_settings, person
from tests.server.notifications.conftest import (
    Conn,
    Fleet,
    MakeWorker,
    SmtpSink,
    WorkerDied,
    make_notice,
    notification_settings,
    outbox,
)
from tests.support.clock import Clock


def test_zalo_refused_sms_unconfirmed_then_email(
    db: Conn,
    fleet: Fleet,
    zalo: Provider,
    sms_gateway: Provider,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    person(db, fleet, chain=["zalo", "sms", "email"], consent_at=clock())
    zalo.replies.append(Reply(200, {"error": -118, "message": "Zalo account not existed"}))
    [row] = enqueue(db, make_notice(fleet, clock()), now=clock())
    worker = make_worker(
        confirm_timeout_s=120.0, **channel_settings(sms=sms_gateway.url, zalo=zalo.url)
    )

    worker.run_once()  # Zalo refuses for good: on to SMS
    assert outbox(db, "channel, state, fallback, tried") == [
        ("sms", "pending", ["email"], ["zalo"])
    ]
    worker.run_once()  # the gateway accepts; its delivery report is awaited
    assert outbox(db, "channel, state") == [("sms", "confirming")]
    clock.advance(timedelta(seconds=119))
    worker.run_once()
    assert outbox(db, "channel, state") == [("sms", "confirming")]
    clock.advance(timedelta(seconds=1))
    worker.run_once()  # not confirmed in time: e-mail
    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        worker.run_once()

    assert outbox(db, "channel, state, tried") == [("email", "sent", ["zalo", "sms"])]
    assert (len(zalo.requests), len(sms_gateway.requests), len(smtp_server.messages)) == (1, 1, 1)
    assert smtp_server.envelopes[0][1] == ["binh@bql.laichau.gov.vn"]
    assert attempts(db, row) == [
        ("zalo", False, "zalo error -118: Zalo account not existed"),
        ("sms", True, None),
        ("sms", False, "sms: delivery not confirmed in time"),
        ("email", True, None),
    ]


def test_a_delivery_report_settles_the_notice(
    db: Conn,
    fleet: Fleet,
    sms_gateway: Provider,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    person(db, fleet, chain=["sms", "email"])
    [row] = enqueue(db, make_notice(fleet, clock()), now=clock())
    worker = make_worker(**channel_settings(sms=sms_gateway.url))
    worker.run_once()
    request_id = sms_gateway.requests[0].json()["request_id"]

    with db.transaction():
        settled = delivery_report(
            db, "sms", request_id=request_id, provider_message_id=None,
            status="delivered", error=None, now=clock(),
        )  # fmt: skip
    assert settled == [row]
    clock.advance(timedelta(hours=1))
    worker.run_once()

    assert outbox(db, "channel, state") == [("sms", "sent")]
    assert smtp_server.messages == []
    assert [a[:2] for a in attempts(db, row)] == [("sms", True), ("sms", True)]
    with db.transaction():  # a report repeated, or for nothing we know: nothing changes
        assert delivery_report(
            db, "sms", request_id=request_id, provider_message_id=None,
            status="failed", error="late", now=clock(),
        ) == []  # fmt: skip


def test_a_failed_report_moves_on_at_once(
    db: Conn,
    fleet: Fleet,
    sms_gateway: Provider,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    person(db, fleet, chain=["sms", "email"])
    [row] = enqueue(db, make_notice(fleet, clock()), now=clock())
    worker = make_worker(**channel_settings(sms=sms_gateway.url))
    worker.run_once()
    gateway_id = f"gw-{sms_gateway.requests[0].json()['request_id']}"
    with db.transaction():
        delivery_report(
            db, "sms", request_id=None, provider_message_id=gateway_id,
            status="failed", error="subscriber unreachable", now=clock(),
        )  # fmt: skip
    worker.run_once()

    assert outbox(db, "channel, state") == [("email", "sent")]
    assert attempts(db, row)[1] == ("sms", False, "sms: subscriber unreachable")


def test_a_channel_failing_again_and_again_hands_over(
    db: Conn,
    fleet: Fleet,
    telegram: Provider,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    person(db, fleet, chain=["telegram", "email"])
    telegram.replies += [Reply(502, b"bad gateway")] * 3
    [row] = enqueue(db, make_notice(fleet, clock()), now=clock())
    worker = make_worker(fallback_after_attempts=3, **channel_settings(telegram=telegram.url))
    for _ in range(4):
        worker.run_once()
        clock.advance(timedelta(seconds=61))  # past the retry backoff (cap 60 s)

    assert len(telegram.requests) == 3
    assert outbox(db, "channel, state, tried") == [("email", "sent", ["telegram"])]
    assert [a[:2] for a in attempts(db, row)] == [("telegram", False)] * 3 + [("email", True)]


def test_the_last_channel_failing_for_good_fails_the_notice(
    db: Conn,
    fleet: Fleet,
    telegram: Provider,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    person(db, fleet, chain=["telegram"])
    telegram.replies.append(Reply(403, {"ok": False, "description": "Forbidden: bot was blocked"}))
    assert len(enqueue(db, make_notice(fleet, clock()), now=clock())) == 1
    make_worker(**channel_settings(telegram=telegram.url)).run_once()

    assert outbox(db, "channel, state, last_error") == [
        ("telegram", "failed", "telegram HTTP 403: Forbidden: bot was blocked")
    ]


def test_a_chain_is_queued_once_per_event(
    db: Conn, fleet: Fleet, clock: Clock, make_worker: MakeWorker
) -> None:
    """The person's chain replaces every route's channel: one row, keyed by
    the person, not queued again when they change their order meanwhile."""
    binh = person(db, fleet, chain=["sms", "email"])
    notice = make_notice(fleet, clock())
    assert len(enqueue(db, notice, now=clock())) == 1
    db.execute(
        "UPDATE notification_preferences SET channels = '{email}' WHERE contact_id = %s", (binh,)
    )
    assert enqueue(db, notice, now=clock()) == []


@pytest.mark.parametrize("channel", ["telegram", "sms", "zalo"])
def test_an_unconfigured_channel_is_retried_then_passed_over(
    db: Conn,
    fleet: Fleet,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
    channel: str,
) -> None:
    person(db, fleet, chain=[channel, "email"], consent_at=clock())
    [row] = enqueue(db, make_notice(fleet, clock()), now=clock())
    worker = make_worker(fallback_after_attempts=1)
    worker.run_once()
    worker.run_once()

    assert outbox(db, "channel, state") == [("email", "sent")]
    assert attempts(db, row)[0] == (
        channel,
        False,
        f"the {channel} channel is not configured on this server",
    )


@dataclass(frozen=True, slots=True)
class DiesAfterTheGatewayAccepted:
    """The SMS channel for real, then the worker's process ends before it
    records anything."""

    inner: SmsChannel
    name: Channel = "sms"
    confirms: bool = True

    def send(self, message: OutgoingMessage, contact: ContactCard) -> Delivery:
        self.inner.send(message, contact)
        raise WorkerDied


def test_a_retry_after_a_dead_worker_carries_the_same_request_id(
    db: Conn,
    db_url: str,
    fleet: Fleet,
    sms_gateway: Provider,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    """The gateway de-duplicates on ``request_id``: the second request after
    a worker died is recognisably the same message, and only one is waited for."""
    person(db, fleet, chain=["sms", "email"])
    [row] = enqueue(db, make_notice(fleet, clock()), now=clock())
    settings = notification_settings(smtp_server.port, **channel_settings(sms=sms_gateway.url))
    assert settings.sms is not None
    dying = NotificationWorker(
        db_url, settings, clock=clock, worker_id="engine-2",
        channels={"sms": DiesAfterTheGatewayAccepted(SmsChannel(settings.sms))},
    )  # fmt: skip
    with pytest.raises(WorkerDied):
        dying.run_once()
    dying.close()
    clock.advance(timedelta(seconds=31))  # the 30 s lease has run out
    make_worker(**channel_settings(sms=sms_gateway.url)).run_once()

    first, again = (r.json()["request_id"] for r in sms_gateway.requests)
    assert first == again
    assert outbox(db, "channel, state, tried") == [("sms", "confirming", [])]
    assert [a[:2] for a in attempts(db, row)] == [("sms", False), ("sms", True)]
