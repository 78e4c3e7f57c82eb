"""Signed JSON webhooks to a real HTTP receiver (http.server on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import hmac
import json

from fleet_server.notifications import enqueue
from fleet_server.notifications.webhook import verify
from tests.server.notifications.conftest import (
    START,
    Conn,
    Fleet,
    MakeWorker,
    WebhookReceiver,
    add_contact,
    add_route,
    deliveries,
    make_notice,
    outbox,
)
from tests.support.clock import Clock

SECRET = "bdbp-webhook-secret-0123456789"


def guard_desk(db: Conn, fleet: Fleet, receiver: WebhookReceiver) -> int:
    contact = add_contact(
        db,
        "Trực ban Bộ đội Biên phòng",
        webhook_url=receiver.url,
        webhook_secret=SECRET,
        organisation_id=fleet.bdbp,
        kind="duty_desk",
    )
    add_route(
        db, contact, channel="webhook", organisation_id=fleet.bql_kkt, incident_kinds=["camera*"]
    )
    return contact


def test_webhook_is_signed_with_the_contacts_secret(
    db: Conn,
    fleet: Fleet,
    webhook_receiver: WebhookReceiver,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    contact = guard_desk(db, fleet, webhook_receiver)
    notice = make_notice(fleet, START, incident_kind="camera_unreachable", board_id="lc-mlt-02")
    [outbox_id] = enqueue(db, notice, now=clock())

    assert make_worker().run_once().messages_sent == 1

    [request] = webhook_receiver.requests
    assert request.path == "/hooks/fleet?src=laichau"
    assert request.headers["Content-Type"] == "application/json; charset=utf-8"
    expected = hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Fleet-Signature"] == f"sha256={expected}"
    assert verify(request.body, SECRET, request.headers["X-Fleet-Signature"])
    assert not verify(request.body + b" ", SECRET, request.headers["X-Fleet-Signature"])
    assert request.headers["X-Fleet-Timestamp"] == str(int(clock().timestamp()))

    body = request.json()
    assert body["sent_at"] == clock().isoformat()  # covered by the signature
    assert body["delivery_id"] == request.headers["X-Fleet-Delivery"]
    assert body["contact"] == {"id": contact, "name": "Trực ban Bộ đội Biên phòng"}
    assert body["subject"].startswith("[Khẩn cấp] Sự cố mới:")
    [item] = body["notices"]
    assert item["outbox_id"] == outbox_id
    assert item["incident_kind"] == "camera_unreachable"
    assert item["board_id"] == "lc-mlt-02"
    assert item["site_name"]["vi"] == "Cửa khẩu quốc tế Ma Lù Thàng"
    assert item["details"] == {"battery_percent": 80, "runtime_s": 2400}
    assert "Trực ban" in json.loads(request.body.decode("utf-8"))["contact"]["name"]

    assert outbox(db) == [(outbox_id, "sent", 1)]
    [(ok, error)] = deliveries(db, outbox_id)
    assert ok
    assert error is None
    assert db.execute(
        "SELECT response FROM notification_deliveries WHERE outbox_id = %s", (outbox_id,)
    ).fetchone() == ("HTTP 200 ok",)


def test_server_error_is_retried_then_delivered(
    db: Conn,
    fleet: Fleet,
    webhook_receiver: WebhookReceiver,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    guard_desk(db, fleet, webhook_receiver)
    [outbox_id] = enqueue(
        db, make_notice(fleet, START, incident_kind="camera_stream_failed"), now=clock()
    )
    webhook_receiver.statuses = [500, 503]
    worker = make_worker()

    assert worker.run_once().messages_failed == 1
    assert worker.run_once().rows_claimed == 0  # waits for its backoff
    clock.advance(61)
    assert worker.run_once().messages_failed == 1
    clock.advance(61)
    assert worker.run_once().messages_sent == 1

    assert [r.json()["notices"][0]["outbox_id"] for r in webhook_receiver.requests] == [
        outbox_id
    ] * 3
    assert len({r.headers["X-Fleet-Delivery"] for r in webhook_receiver.requests}) == 1
    assert len({r.headers["Idempotency-Key"] for r in webhook_receiver.requests}) == 1
    assert outbox(db) == [(outbox_id, "sent", 3)]
    attempts = deliveries(db, outbox_id)
    assert [ok for ok, _ in attempts] == [False, False, True]
    assert "HTTP 500 receiver broken" in (attempts[0][1] or "")
    assert "HTTP 503" in (attempts[1][1] or "")


def test_unreachable_receiver_is_retried(
    db: Conn, fleet: Fleet, make_worker: MakeWorker, clock: Clock
) -> None:
    unused = WebhookReceiver(port=9)  # discard port: nothing listens on it
    guard_desk(db, fleet, unused)
    [outbox_id] = enqueue(db, make_notice(fleet, START, incident_kind="camera_x"), now=clock())
    assert make_worker().run_once().messages_failed == 1
    assert outbox(db, "state, attempts") == [("pending", 1)]
    [(ok, error)] = deliveries(db, outbox_id)
    assert not ok
    assert error is not None
    assert error.startswith("webhook 127.0.0.1:")
