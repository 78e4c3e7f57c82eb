"""Dead letters keep no secrets: payloads, topics and details are stored with
the credentials of URLs removed, next to the SHA-256 of the payload as
received; rows stored before migration 0017 are cleaned by it."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg

import fleet_protocol as fp
from fleet_protocol.messages import CREDENTIAL_PATTERN
from fleet_server.db.migrate import load_migrations
from fleet_server.settings import Settings
from fleet_server.telemetry.storage import Accepted, BatchWriter, Rejected
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

from .conftest import running

Conn = psycopg.Connection[tuple[Any, ...]]

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
SECRET = "s3cret-Pw"
LEAKY = f"rtsp://admin:{SECRET}@10.0.0.5:554/stream1"


def stored(db: Conn) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT reason, topic, detail, payload, payload_size, payload_sha256"
        " FROM dead_letters ORDER BY id"
    ).fetchall()


def no_secret(*values: object) -> bool:
    for value in values:
        text = bytes(value).decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if SECRET in text or "admin" in text:
            return False
    return True


def test_a_credential_leak_is_stored_redacted_with_the_hash_of_the_original(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    topic, good = m.state("lc-leak-01")
    doc = json.loads(good)
    doc["data"]["reason"] = f"camera {LEAKY} unreachable"
    plain = json.dumps(doc, separators=(",", ":")).encode()
    escaped = plain.replace(b"/", b"\\/")  # JSON's other spelling of the same URL
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all([(topic, plain), (topic, escaped)])
        pub.close()
        wait_for(lambda: service.stats.acked == 2, what="both acknowledged")
    rows = stored(db)
    assert [r[0] for r in rows] == ["credential_leak", "credential_leak"]
    for (_, _, detail, payload, size, sha), original in zip(rows, (plain, escaped), strict=True):
        assert no_secret(payload, detail)
        assert size == len(original)
        assert bytes(sha) == hashlib.sha256(original).digest()
    assert b'"reason":"camera rtsp://10.0.0.5:554/stream1 unreachable"' in bytes(rows[0][3])
    json.loads(bytes(rows[0][3]))  # still the JSON it was, less the credentials


def test_topic_and_database_detail_carry_no_secret(db_url: str, db: Conn) -> None:
    topic, payload = m.heartbeat("lc-leak-02", seq=1)
    message = fp.decode(topic, payload)
    assert isinstance(message, fp.HeartbeatMessage)
    # PostgreSQL quotes a value it cannot read in its message: here the URL.
    odd = message.model_copy(update={"data": message.data.model_copy(update={"uptime_s": LEAKY})})
    bad_topic = Rejected(f"fleet/v1/lc-leak-02/event/{LEAKY}", None, "bad_topic", "", b"{}", NOW)
    with psycopg.connect(db_url) as conn:
        result = BatchWriter(conn).write([Accepted(odd, NOW, topic, payload)], [bad_topic])
    assert len(result.rejected_by_db) == 1
    assert LEAKY in result.rejected_by_db[0].detail  # what PostgreSQL said ...
    rows = stored(db)
    assert sorted(r[0] for r in rows) == ["bad_topic", "db_rejected"]
    for _, topic_kept, detail, *_ in rows:
        assert no_secret(topic_kept, detail)  # ... is not what is kept
    assert "fleet/v1/lc-leak-02/event/rtsp://10.0.0.5:554/stream1" in {r[1] for r in rows}


def test_a_credential_cut_by_the_kept_size_is_not_kept(db_url: str, db: Conn) -> None:
    cut = b'{"x":"' + b"a" * 40 + LEAKY.encode() + b'"}'  # the cut (64) falls in the password
    endless = b'{"x":"rtsp://admin:' + b"p" * 300 + b'@10.0.0.5/s"}'  # longer than redact reads
    letters = [Rejected("fleet/v1/lc-leak-03/state", None, "t", "", p, NOW) for p in (cut, endless)]
    with psycopg.connect(db_url) as conn:
        BatchWriter(conn, keep_bytes=64).write([], letters)
        BatchWriter(conn, keep_bytes=4096).write([], letters[1:])
    payloads = [bytes(r[3]) for r in stored(db)]
    # redacted, then cut; a URL left open by the cut loses what followed "://"
    assert payloads[0] == b'{"x":"' + b"a" * 40 + b"rtsp://"
    assert payloads[1] == b'{"x":"rtsp://'
    credentials = re.compile(CREDENTIAL_PATTERN.encode())
    assert all(not credentials.search(p) and b"admin" not in p for p in payloads)
    assert payloads[2] == b""  # nothing rather than a secret


def test_migration_0017_cleans_the_rows_stored_before(db_owner: Conn) -> None:
    """The rows stored before kept payloads as received: the migration
    removes their credentials (and hashes those kept whole)."""
    db = db_owner  # the migration runs as the schema owner
    migration = next(mig for mig in load_migrations() if mig.version == 17)
    db.execute("ALTER TABLE dead_letters DROP COLUMN payload_sha256")
    legacy = [
        ("credential_leak", f'{{"r":"{LEAKY}"}}'.encode(), None, "d"),
        ("credential_leak", f'{{"r":"{LEAKY}"}}'.replace("/", "\\/").encode(), None, "d"),
        ("oversize", b"\xff\xfe not UTF-8 " + LEAKY.encode() + b" \\ \x00", None, "d"),
        ("invalid_payload", b'{"u":"http://host/x","m":"a@b"}', None, "d"),
        ("oversize", b"cut here: rtsp://admin:s3cr", 100, "d"),
        ("db_rejected", b"{}", None, f'invalid input syntax for type bigint: "{LEAKY}"'),
    ]
    for reason, payload, size, detail in legacy:
        db.execute(
            "INSERT INTO dead_letters (received_at, topic, reason, detail, payload, payload_size)"
            " VALUES (now(), 'fleet/v1/lc-old-01/state', %s, %s, %s, %s)",
            (reason, detail, payload, size or len(payload)),
        )
    db.execute(migration.text_for("plain").encode())
    rows = stored(db)
    for _, _, detail, payload, _, _ in rows:
        assert no_secret(payload, detail)
    payloads = [bytes(r[3]) for r in rows]
    assert payloads[0] == b'{"r":"rtsp://10.0.0.5:554/stream1"}'
    assert payloads[1] == b'{"r":"rtsp:\\/\\/10.0.0.5:554\\/stream1"}'
    assert payloads[2] == b"\xff\xfe not UTF-8 rtsp://10.0.0.5:554/stream1 \\ \x00"
    assert payloads[3] == legacy[3][1]  # nothing to remove: untouched, not hashed
    assert payloads[4] == b"cut here: rtsp://"
    hashes = [r[5] for r in rows]
    assert bytes(hashes[0]) == hashlib.sha256(legacy[0][1]).digest()
    assert hashes[3] is None  # not changed
    assert hashes[4] is None  # cut: the whole payload is unknown
