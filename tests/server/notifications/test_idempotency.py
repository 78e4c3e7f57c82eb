"""At least once, recognisably: a message handed over by a worker that died
before recording it is sent again with the same Message-ID (e-mail) or
Idempotency-Key (webhook), and only ever over the same notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleet_server.notifications import enqueue
from fleet_server.notifications.models import Channel, OutboxRow, Transport
from fleet_server.notifications.routing import message_id_for, plan_messages
from fleet_server.notifications.smtp import SmtpTransport
from fleet_server.notifications.webhook import WebhookTransport
from fleet_server.notifications.worker import NotificationWorker
from tests.server.notifications.conftest import (
    Conn,
    DiesAfterHandOver,
    Fleet,
    MakeWorker,
    SmtpSink,
    WebhookReceiver,
    WorkerDied,
    add_contact,
    add_route,
    deliveries,
    make_notice,
    notification_settings,
    outbox,
)
from tests.support.clock import Clock

DOMAIN = "bangtin.laichau.gov.vn"


def dying_worker(db_url: str, port: int, clock: Clock, channel: Channel) -> NotificationWorker:
    settings = notification_settings(port)
    inner: Transport = SmtpTransport(settings.smtp) if channel == "email" else WebhookTransport(5.0)
    return NotificationWorker(
        db_url,
        settings,
        clock=clock,
        worker_id="engine-2",
        transports={channel: DiesAfterHandOver(inner)},
    )


def test_a_mail_handed_over_before_the_worker_died_comes_again_with_its_message_id(
    db: Conn,
    db_url: str,
    fleet: Fleet,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    contact = add_contact(db, "Nguyễn Văn An", email="an@bql.laichau.gov.vn")
    add_route(db, contact, organisation_id=fleet.bql_kkt)
    first = enqueue(db, make_notice(fleet, clock(), incident_id=1), now=clock())
    second = enqueue(db, make_notice(fleet, clock(), incident_id=2), now=clock())
    dying = dying_worker(db_url, smtp_server.port, clock, "email")
    with pytest.raises(WorkerDied):
        dying.run_once()  # the server accepted the mail; "sent" was never committed
    dying.close()
    clock.advance(10)
    # A new notice for the same site arrives meanwhile.
    later = enqueue(db, make_notice(fleet, clock(), incident_id=3), now=clock())
    clock.advance(21)  # the 30 s lease has run out

    assert make_worker().run_once().messages_sent == 2

    handed_over, again, new = smtp_server.messages
    assert handed_over["X-Fleet-Outbox-Ids"] == again["X-Fleet-Outbox-Ids"] == "1,2"
    assert again["Message-ID"] == handed_over["Message-ID"]  # recognisably the same mail
    # The new notice is not hidden under a Message-ID the receiver has seen.
    assert new["X-Fleet-Outbox-Ids"] == "3"
    assert new["Message-ID"] != handed_over["Message-ID"]
    assert [*first, *second, *later] == [1, 2, 3]
    message_id = str(handed_over["Message-ID"]).strip("<>")
    assert outbox(db, "id, state, message_id")[:2] == [
        (1, "sent", message_id),
        (2, "sent", message_id),
    ]
    assert deliveries(db, 1) == [(False, "claim by engine-2 expired"), (True, None)]


def test_a_webhook_handed_over_before_the_worker_died_comes_again_with_its_key(
    db: Conn,
    db_url: str,
    fleet: Fleet,
    webhook_receiver: WebhookReceiver,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    desk = add_contact(
        db, "Trực ban Biên phòng", webhook_url=webhook_receiver.url, webhook_secret="s" * 24
    )
    add_route(db, desk, channel="webhook")
    [outbox_id] = enqueue(db, make_notice(fleet, clock()), now=clock())
    dying = dying_worker(db_url, 9, clock, "webhook")
    with pytest.raises(WorkerDied):
        dying.run_once()  # the receiver answered 200; "sent" was never committed
    dying.close()
    clock.advance(31)

    assert make_worker().run_once().messages_sent == 1

    handed_over, again = webhook_receiver.requests
    key = handed_over.headers["Idempotency-Key"]
    assert again.headers["Idempotency-Key"] == key
    assert key == f'"{handed_over.json()["delivery_id"]}"'  # a structured-field string
    assert again.headers["X-Fleet-Delivery"] == handed_over.headers["X-Fleet-Delivery"]
    assert again.json()["delivery_id"] == handed_over.json()["delivery_id"]
    assert [n["outbox_id"] for n in again.json()["notices"]] == [outbox_id]
    assert outbox(db) == [(outbox_id, "sent", 2)]


def row(outbox_id: int, key: str, **overrides: Any) -> OutboxRow:
    values: dict[str, Any] = {
        "id": outbox_id,
        "idempotency_key": key,
        "channel": "email",
        "contact_id": 1,
        "language": "vi",
        "subject": "",
        "body_text": "",
        "payload": {},
        "group_key": "site:1",
        "available_at": datetime(2025, 5, 20, tzinfo=UTC),
        "attempts": 0,
        "contact_name": "An",
        "contact_active": True,
        "email": "an@bql.laichau.gov.vn",
        "webhook_url": None,
        "webhook_secret": None,
    }
    return OutboxRow(**(values | overrides))


def test_message_id_names_the_rows_it_carries() -> None:
    one, two, three = row(12, "a"), row(13, "b"), row(14, "c")
    single = message_id_for([one], DOMAIN)
    # A single notice keeps the form it always had: fleet.<row>.<digest of its key>.
    assert single == f"fleet.12.ca978112ca1b@{DOMAIN}"
    assert message_id_for([two, one], DOMAIN) == message_id_for([one, two], DOMAIN)
    assert message_id_for([one, two], DOMAIN).startswith("fleet.12.")
    assert (
        len({single, message_id_for([one, two], DOMAIN), message_id_for([one, two, three], DOMAIN)})
        == 3
    )


def test_a_retry_is_not_merged_with_new_notices_and_does_not_wait_for_the_window() -> None:
    now = datetime(2025, 5, 20, 1, tzinfo=UTC)
    retried = [row(1, "a", attempts=1), row(2, "b", attempts=1)]
    fresh = [row(3, "c", available_at=now - timedelta(seconds=90))]
    gathering = [row(4, "d", group_key="site:2", available_at=now)]
    plan = plan_messages([*retried, *fresh, *gathering], now, timedelta(seconds=60))
    assert [[r.id for r in message] for message in plan] == [[1, 2], [3]]
    # A row waits for an earlier notice of its incident that is not in the plan.
    waiting = row(5, "e", group_key=None, earlier=(9,))
    assert plan_messages([waiting], now, timedelta(0)) == []
