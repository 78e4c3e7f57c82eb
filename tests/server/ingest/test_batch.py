"""Batches (the compact encoding) through a real broker into PostgreSQL: each
message stored, dead-lettered or receipted as if it had come alone; a batch
that cannot be read is one dead letter; a birth is answered with the
encodings ingest reads."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

import psycopg

import fleet_protocol as fp
from fleet_protocol import compact
from fleet_server.settings import Settings
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

from .conftest import count, running
from .test_receipts import covered, receipts_of

Conn = psycopg.Connection[tuple[Any, ...]]
BOARD = "lc-bt-01"


def test_a_batch_is_stored_message_by_message_a_bad_one_dead_lettered_alone(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    good = [m.heartbeat(BOARD, seq=seq) for seq in range(1, 6)]
    good += [m.power(BOARD, seq=6), m.camera(BOARD, seq=7)]
    bad_doc = json.loads(m.power(BOARD, seq=8)[1])
    bad_doc["surprise"] = True  # invalid_payload; still receipted by its seq
    spoofed = m.power("lc-other-01", seq=9)[1]  # another board's message in this batch
    items = [*good, (fp.telemetry_topic(BOARD, "power"), json.dumps(bad_doc).encode())]
    items.append((fp.telemetry_topic(BOARD, "power"), spoofed))
    batch = (fp.batch_topic(BOARD), compact.pack(BOARD, items))
    sub = Subscriber(mosquitto.port, "fleet/v1/+/receipt", client_id="batch-receipts")
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all([batch])
        pub.close()
        wait_for(lambda: service.stats.acked == 1, what="the batch acknowledged")
        wait_for(
            # the refused ones too (read leniently, under the topic's board)
            lambda: covered(receipts_of(sub)) == {(BOARD, 1): set(range(1, 10))},
            what="receipts for every message the batch carried",
        )
        registry = service.metrics.registry
        assert registry.get_sample_value("fleet_ingest_messages_total", {"kind": "heartbeat"}) == 5
        assert registry.get_sample_value("fleet_ingest_messages_total", {"kind": "power"}) == 3
    sub.close()
    assert count(db, "telemetry_heartbeat") == 5
    assert count(db, "telemetry_power") == 1
    rows = db.execute("SELECT reason, topic, device_id FROM dead_letters ORDER BY id").fetchall()
    power = fp.telemetry_topic(BOARD, "power")
    assert sorted(rows) == [("device_mismatch", power, BOARD), ("invalid_payload", power, BOARD)]


def test_a_batch_that_cannot_be_read_is_one_dead_letter_naming_why(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    topic = fp.batch_topic(BOARD)
    state_line = b"state " + m.state(BOARD)[1] + b"\n"
    packer = zlib.compressobj(zdict=compact.ZDICT_V1)
    smuggled = packer.compress(state_line) + packer.flush()
    stream = [
        (topic, b"not zlib"),
        (topic, zlib.compress(b"\0" * 20_000_000, 9)),  # a decompression bomb
        (topic, smuggled),  # a state is not batchable: its line refused
        m.heartbeat(BOARD, seq=1),  # and ingest goes on
    ]
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
        assert service.fatal is None
    rows = db.execute("SELECT reason, topic, detail FROM dead_letters ORDER BY id").fetchall()
    assert sorted(r[0] for r in rows) == ["bad_batch", "bad_topic", "batch_too_large"]
    assert all(r[1] == topic for r in rows)
    assert any("batch line 1" in r[2] for r in rows)
    assert count(db, "telemetry_heartbeat") == 1
    assert count(db, "board_states") == 0  # the smuggled state was not stored


def test_a_birth_is_answered_with_the_encodings_ingest_reads(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto
) -> None:
    sub = Subscriber(mosquitto.port, "fleet/v1/+/capabilities", client_id="caps-reader")
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.state(BOARD), m.heartbeat(BOARD, seq=1)])
        wait_for(lambda: len(sub.on("/capabilities")) == 1, what="the capabilities")
        message = fp.decode(sub.on("/capabilities")[0].topic, sub.on("/capabilities")[0].payload)
        assert isinstance(message, fp.Capabilities)
        assert (message.device_id, message.encodings) == (BOARD, [compact.ENCODING])
        service.encodings = ()  # as an ingest that reads JSON only
        pub.publish_all([m.state(BOARD, boot=2)])
        pub.close()
        wait_for(lambda: service.stats.acked == 3, what="the second birth committed")
        assert len(sub.on("/capabilities")) == 1  # nothing said: the board keeps JSON
    sub.close()
