"""Log bundles through the real ingest: stored once with their gzip,
receipted, a refused one dead-lettered as a bounded prefix, and the
retention of FLEET_LOG_BUNDLE_KEEP_DAYS."""

from __future__ import annotations

import base64
import gzip
import json
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

import fleet_protocol as fp
from fleet_protocol.logs import gzip_text
from fleet_server.settings import Settings
from fleet_server.telemetry import storage_upkeep as upkeep
from tests.server.ingest.conftest import count, running
from tests.server.ingest.test_receipts import covered, receipts_of
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]
BOARD = "lc-mlt-01"


def bundle(
    seq: int, body: bytes, *, kind: str = "journal", original: int = 10**6
) -> tuple[str, bytes]:
    at = m.T0 + timedelta(seconds=seq)
    message = fp.LogBundleMessage(
        schema_version=1,
        device_id=BOARD,
        boot=1,
        seq=seq,
        measured_at=at,
        sent_at=at,
        data=fp.LogBundleData(
            request_id="cmd-logs-1",
            kind=kind,  # type: ignore[arg-type]
            captured_at=at,
            since=at - timedelta(hours=1) if kind == "journal" else None,
            lines=3 if kind == "journal" else 0,
            truncated=kind == "journal",
            original_bytes=original,
            body=base64.b64encode(body),
        ),
    )
    return fp.logs_topic(BOARD), fp.encode(message)


def test_a_bundle_is_stored_once_with_its_gzip_and_receipted(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    # stored, not compressed: the largest body, over the 16 KiB of other messages
    largest = gzip.compress(b"x" * (fp.MAX_LOG_BUNDLE_BYTES - 23), compresslevel=0, mtime=0)
    report = gzip_text(json.dumps({"agent": {"version": "1.4.0"}}).encode())
    stream = [bundle(5, largest), bundle(6, report, kind="diagnostics"), bundle(5, largest)]
    assert len(stream[0][1]) > 16 * 1024
    sub = Subscriber(mosquitto.port, "fleet/v1/+/receipt", client_id="logs-receipts")
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
        wait_for(lambda: covered(receipts_of(sub)) == {(BOARD, 1): {5, 6}}, what="the receipts")
    sub.close()
    rows = db.execute(
        "SELECT seq, request_id, kind, lines, truncated, since IS NOT NULL, body"
        " FROM log_bundles ORDER BY seq"
    ).fetchall()
    assert [r[:6] for r in rows] == [
        (5, "cmd-logs-1", "journal", 3, True, True),
        (6, "cmd-logs-1", "diagnostics", 0, False, False),
    ]
    assert (bytes(rows[0][6]), bytes(rows[1][6])) == (largest, report)
    assert service.stats.duplicate_rows == 1
    assert count(db, "dead_letters") == 0


def test_a_refused_bundle_is_a_dead_letter_without_its_body(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    noise = base64.b64encode(random.Random(1).randbytes(3000)) + b"\n"  # barely compresses
    leak = noise + b"camera rtsp://admin:Cam-Secret-42@10.20.0.5/s1 timeout\n"
    topic, good = bundle(8, gzip_text(b"fine\n" * 20_000))
    doc = json.loads(good)
    doc["data"]["body"] = base64.b64encode(gzip_text(leak)).decode()
    with_credentials = json.dumps(doc).encode()
    doc["data"]["body"] = base64.b64encode(b"\x1f\x8b not really gzip" + noise).decode()
    doc["seq"] = 9
    not_gzip = json.dumps(doc).encode()
    oversize = b'{"boot": 1, "seq": 10, "pad": "' + b"x" * (65_200 - 33) + b'"}'
    stream = [
        (topic, with_credentials),
        (topic, not_gzip),
        (topic, oversize),
        bundle(11, gzip_text(b"ok\n")),
    ]
    keep = 1024
    with running(make_settings(ingest_dead_letter_keep_bytes=keep)) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
    letters = db.execute(
        "SELECT reason, detail, length(payload), payload_size FROM dead_letters ORDER BY id"
    ).fetchall()
    assert sorted(r[0] for r in letters) == ["invalid_payload", "invalid_payload", "oversize"]
    details = " ".join(str(r[1]) for r in letters)
    assert "credentials" in details
    assert "gzip" in details
    assert "Cam-Secret-42" not in details
    for _, _, kept, size in letters:
        assert kept <= keep < size  # a bounded prefix, never the whole bundle
    assert [r[0] for r in db.execute("SELECT seq FROM log_bundles")] == [11]


def test_bundles_older_than_the_keep_days_are_deleted(db: Conn) -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    body = gzip_text(b"x\n")
    for seq, days in enumerate([45, 31, 29, 0]):
        at = now - timedelta(days=days)
        db.execute(
            "INSERT INTO log_bundles (device_id, boot, seq, measured_at, sent_at, received_at,"
            " replay, request_id, kind, captured_at, lines, truncated, original_bytes, body)"
            " VALUES (%s, 1, %s, %s, %s, %s, false, 'r', 'diagnostics', %s, 0, false, 2, %s)",
            (BOARD, seq, at, at, at, at, body),
        )
    deleted = upkeep.apply_derived_retention(db, now, log_bundle_keep_days=30)
    assert deleted["log_bundles"] == 2
    assert [r[0] for r in db.execute("SELECT seq FROM log_bundles ORDER BY seq")] == [2, 3]
    assert upkeep.apply_derived_retention(db, now, log_bundle_keep_days=1)["log_bundles"] == 1
