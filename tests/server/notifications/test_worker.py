"""The delivery worker: grouping, holds, giving up, concurrency, lost workers."""

from __future__ import annotations

import threading
from datetime import timedelta

from fleet_server.notifications import Text, enqueue, release_held
from fleet_server.notifications.worker import NotificationWorker
from tests.server.notifications.conftest import (
    Conn,
    Fleet,
    MakeWorker,
    SmtpSink,
    WebhookReceiver,
    add_contact,
    add_route,
    deliveries,
    make_notice,
    outbox,
)
from tests.support.clock import Clock
from tests.support.wait import wait_for


def technician(db: Conn, fleet: Fleet, email: str = "an@bql.laichau.gov.vn") -> int:
    contact = add_contact(db, "Nguyễn Văn An", email=email)
    add_route(db, contact, organisation_id=fleet.bql_kkt)
    return contact


def test_notices_for_one_site_within_the_window_make_one_message(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    worker = make_worker(group_window_s=60)
    enqueue(db, make_notice(fleet, clock(), board_id="lc-mlt-01", incident_id=1), now=clock())
    clock.advance(20)
    enqueue(
        db,
        make_notice(
            fleet,
            clock(),
            board_id="lc-mlt-02",
            incident_id=2,
            severity="minor",
            incident_kind="camera_unreachable",
            title=Text("Camera 2 mất kết nối"),
        ),
        now=clock(),
    )
    clock.advance(20)
    assert worker.run_once().rows_claimed == 0  # the group is still gathering
    enqueue(db, make_notice(fleet, clock(), board_id="lc-mlt-03", incident_id=3), now=clock())
    clock.advance(21)  # 61 s after the first

    assert worker.run_once().messages_sent == 1
    [mail] = smtp_server.messages
    assert mail["Subject"] == "[Khẩn cấp] 3 thông báo tại Cửa khẩu quốc tế Ma Lù Thàng"
    body = mail.get_content()
    assert "Camera 2 mất kết nối" in body
    assert all(board in body for board in ("lc-mlt-01", "lc-mlt-02", "lc-mlt-03"))
    assert mail["X-Fleet-Outbox-Ids"] == "1,2,3"
    assert [r[1:] for r in outbox(db)] == [("sent", 1)] * 3

    # A notice after the group went out starts a new group.
    enqueue(db, make_notice(fleet, clock(), incident_id=4), now=clock())
    clock.advance(61)
    assert worker.run_once().messages_sent == 1
    assert len(smtp_server.messages) == 2
    assert smtp_server.messages[1]["Subject"].startswith("[Khẩn cấp] Sự cố mới:")


def test_security_incidents_are_not_held_for_grouping(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    department = add_contact(db, "Trực ban Sở TT&TT", email="tb@stttt.laichau.gov.vn")
    add_route(db, department, incident_class="security")
    notice = make_notice(
        fleet, clock(), incident_class="security", incident_kind="unapproved_content"
    )
    enqueue(db, notice, now=clock())
    assert make_worker(group_window_s=300).run_once().messages_sent == 1


def test_held_notice_waits_until_its_hold_ends(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    window_end = clock() + timedelta(hours=2)
    [held] = enqueue(db, make_notice(fleet, clock()), hold_until=window_end, now=clock())
    [early] = enqueue(
        db, make_notice(fleet, clock(), incident_id=7), hold_until=window_end, now=clock()
    )
    worker = make_worker()

    clock.advance(3600)
    assert worker.run_once().rows_claimed == 0
    assert release_held(db, now=clock(), incident_id=7) == 1  # window closed early for it
    assert worker.run_once().messages_sent == 1
    clock.advance(3599)
    assert worker.run_once().rows_claimed == 0
    assert len(smtp_server.messages) == 1
    clock.advance(1)
    assert worker.run_once().messages_sent == 1
    assert outbox(db, "id, state") == [(held, "sent"), (early, "sent")]


def test_notice_past_its_max_age_is_marked_failed_not_dropped(
    db: Conn,
    fleet: Fleet,
    webhook_receiver: WebhookReceiver,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    contact = add_contact(db, "Webhook", webhook_url=webhook_receiver.url, webhook_secret="x" * 24)
    add_route(db, contact, channel="webhook")
    [outbox_id] = enqueue(db, make_notice(fleet, clock()), now=clock())
    webhook_receiver.always = 500
    worker = make_worker(max_age_s=300, retry_base_s=10, retry_cap_s=60)
    deadline = clock() + timedelta(seconds=300)

    runs = 0
    while outbox(db, "state") == [("pending",)]:
        assert runs < 100, "never gave up"
        worker.run_once()
        clock.advance(61)
        runs += 1

    state, attempts, last_error = db.execute(
        "SELECT state, attempts, last_error FROM notification_outbox"
    ).fetchone() or (None, 0, None)
    assert state == "failed"
    assert "HTTP 500" in last_error
    attempts_log = deliveries(db, outbox_id)
    assert len(attempts_log) == attempts == len(webhook_receiver.requests) >= 2
    assert not any(ok for ok, _ in attempts_log)
    last_attempt = db.execute(
        "SELECT max(attempted_at) FROM notification_deliveries WHERE outbox_id = %s",
        (outbox_id,),
    ).fetchone()
    assert last_attempt is not None
    assert last_attempt[0] >= deadline  # the last retry is made at the deadline, not skipped
    assert worker.counters.rows_failed == 1
    clock.advance(86_400)
    assert worker.run_once().rows_claimed == 0


def test_two_workers_never_send_the_same_row(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    total = 60
    for n in range(total):
        # No site: no grouping, one message per notice.
        enqueue(db, make_notice(fleet, clock(), site_id=None, incident_id=1000 + n), now=clock())
    workers = [make_worker(batch_size=7), make_worker(batch_size=7)]
    start = threading.Barrier(len(workers))
    errors: list[BaseException] = []

    def drain(worker: NotificationWorker) -> None:
        try:
            start.wait()
            while worker.run_once().rows_claimed:
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    sent_ids = [int(m["X-Fleet-Outbox-Ids"]) for m in smtp_server.messages]
    assert sorted(sent_ids) == [r[0] for r in outbox(db)]  # each row exactly once
    assert {r[1:] for r in outbox(db)} == {("sent", 1)}
    count = db.execute("SELECT count(*) FROM notification_deliveries").fetchone()
    assert count == (total,)
    assert sum(w.counters.rows_sent for w in workers) == total


def test_claim_of_a_dead_worker_is_taken_back_after_the_lease(
    db: Conn,
    fleet: Fleet,
    smtp_server: SmtpSink,
    make_worker: MakeWorker,
    clock: Clock,
) -> None:
    technician(db, fleet)
    [outbox_id] = enqueue(db, make_notice(fleet, clock()), now=clock())
    # The dead worker claimed the row and never reported back.
    db.execute(
        "UPDATE notification_outbox SET state = 'sending', attempts = 1,"
        " claimed_by = 'dead-worker', claimed_at = %s",
        (clock(),),
    )
    worker = make_worker(sending_lease_s=300)
    clock.advance(299)
    assert worker.run_once().rows_claimed == 0
    clock.advance(2)
    assert worker.run_once().messages_sent == 1
    assert worker.counters.claims_recovered == 1
    assert outbox(db) == [(outbox_id, "sent", 2)]
    attempts = deliveries(db, outbox_id)
    assert attempts[0] == (False, "claim by dead-worker expired")
    assert attempts[1] == (True, None)
    assert len(smtp_server.messages) == 1


def test_contacts_without_address_or_deactivated(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    leaver = technician(db, fleet, email="leaver@bql.laichau.gov.vn")
    [to_leaver] = enqueue(db, make_notice(fleet, clock()), now=clock())
    db.execute("UPDATE contacts SET active = false WHERE id = %s", (leaver,))
    mailless = add_contact(
        db, "Chưa có e-mail", webhook_url="http://127.0.0.1:9/", webhook_secret="y" * 16
    )
    add_route(db, mailless, channel="email")  # misconfigured: the contact has no e-mail
    [to_mailless] = enqueue(db, make_notice(fleet, clock(), incident_id=9), now=clock())

    make_worker().run_once()

    assert outbox(db, "id, state, last_error") == [
        (to_leaver, "cancelled", "contact deactivated"),
        (to_mailless, "failed", "contact has no email address"),
    ]
    assert deliveries(db, to_mailless) == [(False, "contact has no email address")]
    assert smtp_server.messages == []


def test_run_forever_delivers_and_stops(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    enqueue(db, make_notice(fleet, clock()), now=clock())
    worker = make_worker(poll_interval_s=0.05)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    try:
        wait_for(lambda: smtp_server.messages, timeout=10, what="the mail")
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(smtp_server.messages) == 1
    assert worker.counters.runs >= 1
