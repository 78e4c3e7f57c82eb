"""A board sending poison at full speed fills at most its allowance of dead
letters a minute; the rest are counted, acknowledged and summed up in one
``suppressed`` dead letter per reason when its minute is over."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

from fleet_server.ingest.deadletters import SUPPRESSED, DeadLetterLimiter
from fleet_server.settings import Settings
from fleet_server.telemetry.storage import Rejected
from tests.support import messages as m
from tests.support.clock import Clock
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

from .conftest import count, running

Conn = psycopg.Connection[tuple[Any, ...]]


def letter(board: str | None, reason: str = "bad_json", at: float = 0.0) -> Rejected:
    received = datetime.fromtimestamp(at or time.time(), UTC)
    return Rejected(f"fleet/v1/{board}/state", board, reason, "detail", b"{", received)


def test_each_board_has_its_allowance_and_the_rest_is_counted() -> None:
    clock = Clock()
    limiter = DeadLetterLimiter(5, clock=clock.seconds)
    flood = [letter("lc-a-01") for _ in range(7)] + [letter("lc-a-01", "oversize")] * 2
    written = limiter.admit([*flood, letter("lc-b-01"), letter(None)])
    assert [w.device_id for w in written] == ["lc-a-01"] * 5 + ["lc-b-01", None]
    admission = limiter.confirm()
    assert admission.suppressed == {"bad_json": 2, "oversize": 2}
    assert limiter.pending() == 4
    assert limiter.admit([letter("lc-a-01")]) == []  # still its minute
    limiter.confirm()
    assert not limiter.due()
    clock.advance(60)
    assert limiter.due()
    summaries = limiter.admit([])
    assert [(s.device_id, s.reason) for s in summaries] == [("lc-a-01", SUPPRESSED)] * 2
    assert summaries[0].detail.startswith("3 more dead letters (bad_json) of this board")
    assert summaries[1].detail.startswith("2 more dead letters (oversize) of this board")
    assert all(s.payload is None for s in summaries)
    limiter.confirm()
    assert limiter.pending() == 0
    assert not limiter.due()
    # a new minute, a new allowance
    assert len(limiter.admit([letter("lc-a-01")] * 6)) == 5


def test_a_plan_is_only_true_once_its_batch_committed() -> None:
    limiter = DeadLetterLimiter(2, clock=Clock().seconds)
    batch = [letter("lc-a-01") for _ in range(3)]
    first = limiter.admit(batch)
    limiter.discard()  # the commit failed: the batch is written again
    assert limiter.admit(batch) == first
    assert limiter.confirm().suppressed == {"bad_json": 1}
    assert limiter.admit(batch) == []


def test_the_counts_are_written_at_stop() -> None:
    limiter = DeadLetterLimiter(1, clock=Clock().seconds)
    limiter.admit([letter("lc-a-01")] * 4)
    limiter.confirm()
    summaries = limiter.admit([], final=True)
    assert [s.detail[:29] for s in summaries] == ["3 more dead letters (bad_json"]


def test_a_flooding_board_fills_its_allowance_only(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    topic = m.heartbeat("lc-flood-01", seq=1)[0]
    poison = [(topic, b"{not json")] * 50
    other = [("fleet/v1/lc-other-01/state", b"[")] * 3
    valid = [m.heartbeat("lc-fine-01", seq=i) for i in range(20)]
    stream = [*poison, *other, *valid]
    clock = Clock()
    with running(make_settings(ingest_dead_letter_board_per_minute=5)) as service:
        service.limiter.clock = clock.seconds
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
        rows = db.execute(
            "SELECT device_id, count(*) FROM dead_letters GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert rows == [("lc-flood-01", 5), ("lc-other-01", 3)]
        assert count(db, "telemetry_heartbeat") == 20
        registry = service.metrics.registry
        suppressed = registry.get_sample_value(
            "fleet_ingest_dead_letters_suppressed_total", {"reason": "bad_json"}
        )
        assert suppressed == 45
        assert (
            registry.get_sample_value("fleet_ingest_dead_letters_total", {"reason": "bad_json"})
            == 8
        )
        clock.advance(61)  # the board's minute is over: its count is written, idle or not
        summary = wait_for(
            lambda: db.execute(
                "SELECT device_id, topic, detail, payload, payload_sha256 FROM dead_letters"
                " WHERE reason = 'suppressed'"
            ).fetchall(),
            what="the summary dead letter",
        )
        pub.close()
    assert len(summary) == 1
    device, topic_kept, detail, payload, sha = summary[0]
    assert (device, topic_kept, bytes(payload), sha) == ("lc-flood-01", topic, b"", None)
    assert detail.startswith("45 more dead letters (bad_json) of this board")
