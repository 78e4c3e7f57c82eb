"""The delivery worker's Prometheus families: sent, failed and given up, by
channel, against a real SMTP server and a real webhook receiver."""

from __future__ import annotations

from fleet_server.metrics import NotificationMetrics, new_registry
from fleet_server.notifications import enqueue
from fleet_server.notifications.worker import NotificationWorker
from tests.server.notifications.conftest import (
    START,
    Conn,
    Fleet,
    MakeWorker,
    SmtpSink,
    WebhookReceiver,
    add_contact,
    add_route,
    make_notice,
    notification_settings,
)
from tests.support.clock import Clock


def counts(worker: NotificationWorker, channel: str) -> tuple[float | None, ...]:
    registry = worker.metrics.registry
    return tuple(
        registry.get_sample_value(f"fleet_notifications_{what}_total", {"channel": channel})
        for what in ("sent", "failed", "given_up")
    )


def test_sent_and_refused_mail_are_counted(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker
) -> None:
    for name, email in (("Đã nghỉ việc", "gone@bql.laichau.gov.vn"), ("An", "an@bql.vn")):
        add_route(db, add_contact(db, name, email=email))
    smtp_server.refuse.add("gone@bql.laichau.gov.vn")
    enqueue(db, make_notice(fleet, START), now=START)
    worker = make_worker()
    assert counts(worker, "email") == (0, 0, 0)

    result = worker.run_once()

    assert (result.messages_sent, result.messages_failed) == (1, 1)
    assert counts(worker, "email") == (1, 1, 1)  # refused: a permanent failure
    assert counts(worker, "webhook") == (0, 0, 0)


def test_a_retried_webhook_counts_each_failed_attempt(
    db: Conn,
    fleet: Fleet,
    webhook_receiver: WebhookReceiver,
    smtp_server: SmtpSink,
    clock: Clock,
    db_url: str,
) -> None:
    desk = add_contact(
        db, "Trực ban", webhook_url=webhook_receiver.url, webhook_secret="s" * 32, kind="duty_desk"
    )
    add_route(db, desk, channel="webhook")
    enqueue(db, make_notice(fleet, START), now=clock())
    webhook_receiver.statuses = [500]
    metrics = NotificationMetrics(new_registry(process=False))
    worker = NotificationWorker(
        db_url, notification_settings(smtp_server.port), clock=clock, metrics=metrics
    )
    try:
        assert worker.run_once().messages_failed == 1
        assert counts(worker, "webhook") == (0, 1, 0)  # retried later, not given up
        clock.advance(61)
        assert worker.run_once().messages_sent == 1
        assert counts(worker, "webhook") == (1, 1, 0)
        assert worker.metrics is metrics
    finally:
        worker.close()
