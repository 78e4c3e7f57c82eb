"""Ingest against a real Mosquitto and a real PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import psycopg

from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.server.ingest.conftest import count, running
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]


def test_publish_n_messages_gives_n_rows(
    ingest: IngestService, mosquitto: Mosquitto, db: Conn
) -> None:
    boards = [f"lc-b{i:02d}" for i in range(10)]
    batch = []
    for seq in range(1, 51):
        for board in boards:
            batch.append(m.heartbeat(board, seq=seq))
            if seq % 10 == 0:
                batch.append(m.power(board, seq=seq + 1000))
                batch.append(m.camera(board, seq=seq + 2000, cameras=2))
    pub = Publisher(mosquitto.port)
    pub.publish_all(batch)
    pub.close()
    wait_for(lambda: count(db, "telemetry_heartbeat") == 500, what="500 heartbeats")
    wait_for(lambda: count(db, "telemetry_camera") == 100, what="100 camera rows")
    assert count(db, "telemetry_power") == 50
    assert count(db, "dead_letters") == 0
    latest = db.execute(
        "SELECT seq, data->>'uptime_s' FROM board_latest"
        " WHERE device_id = 'lc-b03' AND kind = 'heartbeat'"
    ).fetchone()
    assert latest == (50, "110")
    # acknowledged right after the commit that made the rows visible
    wait_for(lambda: ingest.stats.acked == len(batch), what="every message acknowledged")


def test_redelivered_message_is_stored_once(
    ingest: IngestService, mosquitto: Mosquitto, db: Conn
) -> None:
    one = m.heartbeat("lc-mlt-01", boot=3, seq=7)
    pub = Publisher(mosquitto.port)
    pub.publish_all([one, one])
    pub.publish_all([one, m.heartbeat("lc-mlt-01", boot=3, seq=8)])
    pub.close()
    wait_for(lambda: ingest.stats.acked == 4, what="all four acknowledged")
    assert count(db, "telemetry_heartbeat") == 2
    assert ingest.stats.duplicate_rows == 2


def test_same_seq_in_a_new_boot_is_a_new_row(
    ingest: IngestService, mosquitto: Mosquitto, db: Conn
) -> None:
    pub = Publisher(mosquitto.port)
    pub.publish_all([m.heartbeat(boot=1, seq=1), m.heartbeat(boot=2, seq=1)])
    pub.close()
    wait_for(lambda: count(db, "telemetry_heartbeat") == 2, what="two rows")
    latest = db.execute("SELECT boot FROM board_latest WHERE kind = 'heartbeat'").fetchone()
    assert latest == (2,)


def test_older_message_does_not_overwrite_latest(
    ingest: IngestService, mosquitto: Mosquitto, db: Conn
) -> None:
    pub = Publisher(mosquitto.port)
    pub.publish_all([m.heartbeat(seq=10)])
    wait_for(lambda: count(db, "telemetry_heartbeat") == 1, what="first row")
    pub.publish_all([m.heartbeat(seq=4, replay=True)])  # replayed from the spool
    pub.close()
    wait_for(lambda: count(db, "telemetry_heartbeat") == 2, what="replayed row")
    assert db.execute("SELECT seq FROM board_latest").fetchone() == (10,)
    assert db.execute("SELECT replay FROM telemetry_heartbeat WHERE seq = 4").fetchone() == (True,)


def test_bad_messages_go_to_dead_letters_and_the_rest_is_stored(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    good_topic, good = m.heartbeat("lc-mlt-01", seq=1)
    doc = json.loads(good)
    spoofed = dict(doc, device_id="lc-other-02")
    wrong_schema = dict(doc, schema_version=2)
    extra = dict(doc, surprise=True)
    nul = dict(doc, data=dict(doc["data"], agent_version="0.1\u0000"))
    bad = [
        (good_topic, b"{not json", "bad_json"),
        (good_topic, json.dumps(spoofed).encode(), "device_mismatch"),
        (good_topic, json.dumps(wrong_schema).encode(), "unsupported_schema"),
        (good_topic, json.dumps(extra).encode(), "invalid_payload"),
        (good_topic, b"x" * 3000, "oversize"),
        ("fleet/v1/lc-mlt-01/telemetry/bogus", good, "bad_topic"),
        # the protocol refuses the NUL before PostgreSQL sees it (issue 13)
        (good_topic, json.dumps(nul).encode(), "invalid_payload"),
    ]
    stream = [(t, p) for t, p, _ in bad] + [(good_topic, good)]
    with running(make_settings(ingest_max_payload_bytes=2048)) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
    rows = db.execute(
        "SELECT reason, topic, device_id, payload, payload_size, detail"
        " FROM dead_letters ORDER BY id"
    ).fetchall()
    assert sorted(r[0] for r in rows) == sorted(reason for _, _, reason in bad)
    by_reason = {r[0]: r for r in rows}
    assert by_reason["oversize"][4] == 3000
    assert len(by_reason["oversize"][3]) == 3000  # under the 4 KiB kept by default
    assert by_reason["bad_json"][3] == b"{not json"
    assert by_reason["device_mismatch"][2] == "lc-mlt-01"
    assert "lc-other-02" in by_reason["device_mismatch"][5]
    assert by_reason["bad_topic"][1] == "fleet/v1/lc-mlt-01/telemetry/bogus"
    assert count(db, "telemetry_heartbeat") == 1
    assert service.stats.rejected["invalid_payload"] == 2
    assert "db_rejected" not in service.stats.rejected


def test_dead_letter_payload_is_truncated(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    with running(make_settings(ingest_dead_letter_keep_bytes=100)) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all([("fleet/v1/lc-mlt-01/state", b"[" * 5000)])
        pub.close()
        wait_for(lambda: service.stats.acked == 1, what="ack")
    assert db.execute("SELECT length(payload), payload_size FROM dead_letters").fetchone() == (
        100,
        5000,
    )


def test_mqtt_311_plain_subscription(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    with running(make_settings(mqtt_protocol="3.1.1")) as service:
        assert not service.consumer.filters()[0].startswith("$share/")
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.heartbeat(seq=i) for i in range(1, 21)])
        pub.close()
        wait_for(lambda: count(db, "telemetry_heartbeat") == 20, what="20 rows")


def test_two_ingest_processes_share_the_load(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    with running(make_settings()) as one, running(make_settings()) as two:
        assert one.consumer.filters()[0].startswith("$share/fleet-ingest/")
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.heartbeat(f"lc-b{i % 7}", seq=i) for i in range(1, 401)])
        pub.close()
        wait_for(lambda: count(db, "telemetry_heartbeat") == 400, what="400 rows")
        assert one.stats.received > 0
        assert two.stats.received > 0
        assert one.stats.received + two.stats.received == 400


def test_messages_published_while_ingest_is_down_arrive_later(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    settings = make_settings()
    with running(settings):
        pass  # creates the persistent session and its subscriptions
    pub = Publisher(mosquitto.port)
    pub.publish_all([m.heartbeat(seq=i) for i in range(1, 101)])
    pub.close()
    mosquitto.restart()  # the broker's persistence keeps the queued messages too
    with running(settings):
        wait_for(lambda: count(db, "telemetry_heartbeat") == 100, what="100 queued rows")
