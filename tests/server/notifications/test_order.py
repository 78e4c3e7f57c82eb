"""Notices about one incident reach a recipient in the order they were queued:
"site back" never overtakes a "site down" still being sent, waiting for a
retry, or taken back from a worker that died."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fleet_server.notifications import Notice, Text, enqueue
from fleet_server.notifications.storage_worker import claim_due
from tests.server.notifications.conftest import (
    Conn,
    Fleet,
    MakeWorker,
    SmtpSink,
    add_contact,
    add_route,
    deliveries,
    make_notice,
    outbox,
    technician,
)
from tests.support.clock import Clock


def site_down(fleet: Fleet, clock: Clock, **overrides: Any) -> Notice:
    values: dict[str, Any] = {
        "kind": "site_incident",
        "incident_kind": "site_outage",
        "board_id": None,
        "title": Text("Mất kết nối toàn bộ điểm", "Whole site unreachable"),
    }
    return make_notice(fleet, clock(), **(values | overrides))


def site_back(fleet: Fleet, clock: Clock, **overrides: Any) -> Notice:
    return site_down(fleet, clock, kind="incident_resolved", **overrides)


def sent_ids(smtp_server: SmtpSink) -> list[str]:
    return [str(m["X-Fleet-Outbox-Ids"]) for m in smtp_server.messages]


def test_site_back_waits_for_a_site_down_claimed_by_a_worker_that_died(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    [down] = enqueue(db, site_down(fleet, clock), now=clock())
    claim_due(db, now=clock(), limit=10, window=timedelta(0), worker="engine-2-dead")
    clock.advance(5)
    [back] = enqueue(db, site_back(fleet, clock), now=clock())
    worker = make_worker()

    assert worker.run_once().rows_claimed == 0  # "site down" is still being sent
    assert smtp_server.messages == []
    clock.advance(26)  # the dead worker's 30 s lease has run out
    assert worker.run_once().messages_sent == 2

    assert sent_ids(smtp_server) == [str(down), str(back)]
    assert smtp_server.messages[1]["Subject"].startswith("[Khẩn cấp] Sự cố đã được khắc phục")
    assert outbox(db) == [(down, "sent", 2), (back, "sent", 1)]


def test_site_back_waits_for_a_site_down_waiting_for_its_retry(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    worker = make_worker(retry_base_s=10, retry_cap_s=60)
    smtp_server.stop()
    [down] = enqueue(db, site_down(fleet, clock), now=clock())
    assert worker.run_once().messages_failed == 1
    smtp_server.start()
    [back] = enqueue(db, site_back(fleet, clock), now=clock())

    assert worker.run_once().rows_claimed == 0  # the retry is at least 1 s away
    clock.advance(60)
    assert worker.run_once().messages_sent == 2

    assert sent_ids(smtp_server) == [str(down), str(back)]
    assert outbox(db) == [(down, "sent", 2), (back, "sent", 1)]


def test_a_later_notice_is_held_back_when_the_earlier_fails_in_the_same_run(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    desk = add_contact(db, "Trực ban Sở TT&TT", email="tb@stttt.laichau.gov.vn")
    add_route(db, desk, incident_class="security")
    security = {"incident_class": "security", "incident_kind": "unapproved_content"}
    # Security notices are not grouped: two messages in one run.
    [opened] = enqueue(db, site_down(fleet, clock, **security), now=clock())
    [resolved] = enqueue(db, site_back(fleet, clock, **security), now=clock())
    smtp_server.fail_next = 1  # 451 to the first message
    worker = make_worker()

    result = worker.run_once()
    assert (result.messages_failed, result.messages_sent) == (1, 0)
    assert smtp_server.messages == []
    assert outbox(db) == [(opened, "pending", 1), (resolved, "pending", 0)]
    assert deliveries(db, resolved) == []  # given back unattempted
    assert worker.counters.rows_held_back == 1

    clock.advance(60)
    assert worker.run_once().messages_sent == 2
    assert sent_ids(smtp_server) == [str(opened), str(resolved)]


def test_notices_waiting_for_an_earlier_one_do_not_starve_the_others(
    db: Conn, fleet: Fleet, smtp_server: SmtpSink, make_worker: MakeWorker, clock: Clock
) -> None:
    technician(db, fleet)
    worker = make_worker(batch_size=2)
    smtp_server.stop()
    [down] = enqueue(db, site_down(fleet, clock), now=clock())
    assert worker.run_once().messages_failed == 1
    smtp_server.start()
    for n in range(4):  # more than a batch, all behind "site down"
        reminder = site_down(fleet, clock, kind="incident_reminder", dedup_key=f"r:{n}")
        enqueue(db, reminder, now=clock())
    [other] = enqueue(db, make_notice(fleet, clock(), incident_id=43), now=clock())

    assert worker.run_once().messages_sent == 1
    assert sent_ids(smtp_server) == [str(other)]
    assert [state for _, state, _ in outbox(db)][:5] == ["pending"] * 5
    assert down == outbox(db)[0][0]
