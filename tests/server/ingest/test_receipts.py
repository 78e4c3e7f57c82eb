"""Delivery receipts: after each commit every board hears, per boot, which of
its seqs the server keeps (stored, duplicate or dead letter)."""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import load_config
from fleet_server.ingest.consumer import Inbound
from fleet_server.ingest.receipts import (
    publication,
    publications,
    receipt_key,
    receipts_for,
    seq_ranges,
)
from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from fleet_server.telemetry.storage import Rejected
from tests.agent.conftest import fake_collectors
from tests.support import messages as m
from tests.support.clock import Clock
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

from .conftest import count, running

Conn = psycopg.Connection[tuple[Any, ...]]
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def test_seqs_collapse_into_inclusive_ranges() -> None:
    assert seq_ranges([5, 1, 2, 3, 9, 2, 10]) == [(1, 3), (5, 5), (9, 10)]
    assert seq_ranges([]) == []
    assert seq_ranges([0, 2**63 - 1]) == [(0, 0), (2**63 - 1, 2**63 - 1)]


@pytest.mark.parametrize(
    "committed_at",
    [NOW, datetime(2026, 12, 1, 3, 4, 5, 678901, tzinfo=UTC), NOW + timedelta(hours=7)],
)
def test_receipts_written_directly_are_the_models_bytes(committed_at: datetime) -> None:
    """The direct writer (one receipt a message when a batch comes from many
    boards) gives exactly what building, serialising and checking a
    Receipt gives: ids, boots at their limits, seqs at 0 and 2**63-1, a
    boot split beyond the range limit, any committed time."""
    keys = [("lc-a-01", 1, seq) for seq in range(0, 2 * 600, 2)]  # 600 ranges
    keys += [("A", 2**31 - 1, 0), ("lc_b-01", 1, 2**63 - 1), ("x" * 64, 3, 7), ("9z", 1, 1)]
    keys += [(f"lc-{i:04d}", 1 + i % 3, i) for i in range(50)]
    expected = [publication(r) for r in receipts_for(keys, committed_at)]
    assert publications(keys, committed_at) == expected
    assert publications([], committed_at) == []


def test_a_receipt_the_model_refuses_is_refused_directly_too() -> None:
    with pytest.raises(ValueError, match="boot"):  # pydantic's ValidationError, as before
        receipts_for([("lc-a-01", 0, 1)], NOW)
    with pytest.raises(ValueError, match="boot"):
        publications([("lc-a-01", 0, 1)], NOW)  # boot 0
    with pytest.raises(ValueError, match="device_id"):
        publications([('lc"a', 1, 1)], NOW)  # not an id


def test_one_receipt_per_board_and_boot_split_beyond_the_range_limit() -> None:
    keys = [("lc-a-01", 1, seq) for seq in range(0, 2 * 600, 2)]  # 600 ranges
    keys += [("lc-a-01", 2, 7), ("lc-b-01", 1, 3), ("lc-b-01", 1, 4)]
    receipts = receipts_for(keys, NOW)
    shape = [(r.device_id, r.boot, len(r.ranges)) for r in receipts]
    limit = fp.MAX_RECEIPT_RANGES
    assert shape == [
        ("lc-a-01", 1, limit),
        ("lc-a-01", 1, limit),
        ("lc-a-01", 1, 600 - 2 * limit),
        ("lc-a-01", 2, 1),
        ("lc-b-01", 1, 1),
    ]
    assert receipts[-1].ranges == [(3, 4)]
    for receipt in receipts:  # each one a valid wire message on its board's topic
        topic = fp.receipt_topic(receipt.device_id)
        assert fp.decode(topic, fp.encode(receipt)) == receipt


@pytest.mark.parametrize(
    ("payload", "device", "key"),
    [
        (b'{"boot": 2, "seq": 9, "extra": 1}', "lc-a-01", ("lc-a-01", 2, 9)),
        (b'{"boot": 2, "seq": 9}', None, None),  # no board in the topic
        (b'{"boot": true, "seq": 9}', "lc-a-01", None),
        (b'{"boot": 0, "seq": 9}', "lc-a-01", None),
        (b'{"boot": 1, "seq": 18446744073709551616}', "lc-a-01", None),
        (b'[{"boot": 1, "seq": 1}]', "lc-a-01", None),
        (b"{not json", "lc-a-01", None),
        (b"[" * 100_000, "lc-a-01", None),  # too big to read
        (b"[" * 10_000, "lc-a-01", None),  # deeper than json reads
    ],
)
def test_a_refused_message_is_receipted_from_a_lenient_reading(
    payload: bytes, device: str | None, key: tuple[str, int, int] | None
) -> None:
    item = Inbound("fleet/v1/x/state", payload, 1, 1, 0.0, 1)
    outcome = Rejected(item.topic, device, "invalid_payload", "", payload, NOW)
    assert receipt_key(item, outcome, max_bytes=16 * 1024) == key


def covered(receipts: list[fp.Receipt]) -> dict[tuple[str, int], set[int]]:
    seqs: dict[tuple[str, int], set[int]] = defaultdict(set)
    for r in receipts:
        for start, end in r.ranges:
            seqs[(r.device_id, r.boot)].update(range(start, end + 1))
    return dict(seqs)


def receipts_of(sub: Subscriber) -> list[fp.Receipt]:
    out = []
    for msg in sub.on("/receipt"):
        assert not msg.retain
        receipt = fp.decode(msg.topic, msg.payload)
        assert isinstance(receipt, fp.Receipt)
        assert msg.topic == fp.receipt_topic(receipt.device_id)
        out.append(receipt)
    return out


def test_each_board_gets_receipts_for_what_was_committed(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    topic_a, _ = m.heartbeat("lc-rc-a")
    refused = json.loads(m.heartbeat("lc-rc-a", seq=11)[1])
    refused["surprise"] = True  # invalid_payload, boot 1 seq 11 all the same
    stream = [m.heartbeat("lc-rc-a", seq=seq) for seq in range(1, 11)]
    stream += [m.heartbeat("lc-rc-a", seq=3)]  # a duplicate
    stream += [m.heartbeat("lc-rc-a", boot=2, seq=1), m.power("lc-rc-b", seq=5)]
    stream += [(topic_a, json.dumps(refused).encode())]
    stream += [("fleet/v1/no such board/state", b"{}")]  # no board: no receipt
    sub = Subscriber(mosquitto.port, "fleet/v1/+/receipt", client_id="receipt-reader")
    before = datetime.now(UTC)
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
        expected = {("lc-rc-a", 1): set(range(1, 12)), ("lc-rc-a", 2): {1}, ("lc-rc-b", 1): {5}}
        wait_for(lambda: covered(receipts_of(sub)) == expected, what="the receipts")
        assert service.stats.receipts == len(receipts_of(sub))
    sub.close()
    assert count(db, "dead_letters") == 2
    for receipt in receipts_of(sub):
        assert before - timedelta(seconds=1) <= receipt.committed_at <= datetime.now(UTC)


def test_no_receipts_when_turned_off(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto
) -> None:
    with running(make_settings(ingest_receipts=False)) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.heartbeat(seq=1)])
        pub.close()
        wait_for(lambda: service.stats.acked == 1, what="acknowledged")
        assert service.stats.receipts == service.stats.receipts_unsent == 0


def test_a_broker_away_at_commit_costs_receipts_not_the_writer(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db_url: str
) -> None:
    """The batch commits while the broker is gone: no ack, no receipt, no
    crash. Back, the broker redelivers; the duplicates are receipted."""
    settings = make_settings(ingest_reconnect_min_s=0.05, ingest_reconnect_max_s=0.2)
    with running(settings) as service, psycopg.connect(db_url) as blocker:
        blocker.execute("LOCK TABLE telemetry_heartbeat IN ACCESS EXCLUSIVE MODE")
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.heartbeat("lc-away-01", seq=seq) for seq in (1, 2)])
        pub.close()
        wait_for(lambda: service.stats.received == 2, what="both received")
        mosquitto.stop()
        blocker.rollback()  # the commit goes through with the broker away
        wait_for(lambda: service.stats.receipts_unsent >= 1, what="the receipt not sent")
        assert service.stats.ack_skipped == 2
        mosquitto.start()
        wait_for(lambda: service.stats.acked == 2, what="the redelivered duplicates acknowledged")
        wait_for(lambda: service.stats.receipts >= 1, what="their receipt")
        assert service.fatal is None
        assert service.stats.duplicate_rows == 2


class QosReader:
    """Reads receipts as the agent subscribes to them (MQTT 3.1.1, clean
    session, QoS 1): what QoS the broker delivers them at."""

    def __init__(self, port: int) -> None:
        self.qos: list[int] = []
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="receipt-qos",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        self.client.on_message = lambda _c, _u, msg: self.qos.append(msg.qos)
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.on_connect = lambda c, *_a: c.subscribe("fleet/v1/+/receipt", 1)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert self._subscribed.wait(10), "subscription not confirmed"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_receipts_go_at_qos_0(ingest: IngestService, mosquitto: Mosquitto) -> None:
    """No PUBACK per receipt (issue 20): the agent's clean session never gets
    a QoS 1 receipt again after a lost connection either, and a lost one
    costs a resend (next test)."""
    reader = QosReader(mosquitto.port)
    pub = Publisher(mosquitto.port)
    pub.publish_all([m.heartbeat(f"lc-qos-{n:02d}", seq=1) for n in range(5)])
    pub.close()
    wait_for(lambda: len(reader.qos) == 5, what="five receipts")
    reader.close()
    assert reader.qos == [0] * 5
    assert ingest.stats.receipts == 5


QUIET = {"heartbeat": 86_400, "power": 86_400}  # one reading each, at the start


def test_a_lost_receipt_costs_a_resend_and_the_message_is_stored_once(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn, tmp_path: Path
) -> None:
    """Receipts may be lost (QoS 0, or a connection gone with them): the real
    agent keeps the messages, sends them again after its receipt timeout,
    and ingest stores each once and receipts the copies."""
    clock = Clock()
    config = load_config(
        None,
        device_id="lc-lost-01",
        mqtt_url=mosquitto.url,
        spool_path=tmp_path / "spool.db",
        intervals=QUIET,
        spool={"receipt_timeout_s": 60},
    )
    agent = Agent(config, collectors=fake_collectors(), monotonic=clock.monotonic)
    agent.session.start()
    try:
        assert agent.session.ready.wait(10)
        sent = ["telemetry_heartbeat", "telemetry_power", "board_events"]
        ingest = make_settings().ingest_client_id  # restarted: the same session
        with running(make_settings(ingest_client_id=ingest, ingest_receipts=False)) as lossy:
            agent.emit_event("marker", "info", "a")  # with the first heartbeat and power
            # every receipt lost
            step_until(agent, lambda: agent.delivery.awaiting == 3, "three PUBACKs")
            wait_for(lambda: lossy.stats.stored_rows >= 3, what="the messages stored")
        assert [count(db, table) for table in sent] == [1, 1, 1]
        assert agent.delivery.pending == 3  # no receipt: still spooled
        with running(make_settings(ingest_client_id=ingest)) as service:
            clock.advance(61)  # past the receipt timeout: sent again
            step_until(agent, lambda: agent.delivery.pending == 0, "the copies receipted")
            assert service.stats.stored_rows == 0  # the copies: duplicates only
            assert service.stats.duplicate_rows >= 3
        assert [count(db, table) for table in sent] == [1, 1, 1]
    finally:
        agent.close()


def step_until(agent: Agent, done: Callable[[], bool], what: str) -> None:
    def check() -> bool:
        agent.step()
        return done()

    wait_for(check, what=what)
