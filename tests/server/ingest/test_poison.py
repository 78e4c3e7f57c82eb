"""Poison isolation: a message PostgreSQL refuses becomes a dead letter and
never takes other boards' messages with it, nor stops ingest.

The writer tests build messages the protocol would refuse with
``model_copy(update=...)`` (no validation), so they reach the database path
whatever ``fleet_protocol`` checks; the end-to-end test uses a value the
protocol allows and a constraint refuses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
from fleet_server.settings import Settings
from fleet_server.telemetry.storage import Accepted, BatchWriter, Rejected
from tests.server.ingest.conftest import count, running
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]

NOW = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)
BAD = "lc-poison-01"


def event(device_id: str, seq: int) -> tuple[str, bytes]:
    message = fp.EventMessage(
        schema_version=1,
        device_id=device_id,
        boot=1,
        seq=seq,
        measured_at=NOW,
        sent_at=NOW,
        data=fp.EventData(type="door_opened", message="door opened"),
    )
    return fp.event_topic(device_id, "door_opened"), fp.encode(message)


def accepted(topic: str, payload: bytes) -> Accepted:
    return Accepted(fp.decode(topic, payload), NOW, topic, payload)  # type: ignore[arg-type]


def poisoned(make: Callable[..., tuple[str, bytes]], seq: int, **data: Any) -> Accepted:
    """A message of BAD with ``data`` fields the protocol would refuse; its
    payload says the same (as the board would have sent it)."""
    topic, payload = make(BAD, seq=seq)
    message = fp.decode(topic, payload)
    assert isinstance(message, fp.Envelope)
    bad = message.model_copy(update={"data": message.data.model_copy(update=data)})
    doc = json.loads(payload)
    doc["data"].update({k: v for k, v in data.items() if isinstance(v, str | int | dict)})
    raw = json.dumps(doc).encode("utf-8", "surrogatepass")
    return Accepted(bad, NOW, topic, raw)


def valid_batch(n: int) -> list[Accepted]:
    """n valid messages: half of them BAD's own heartbeats (the same board
    and kind as the poison: the same board_latest row), the rest others'."""
    out = [accepted(*m.heartbeat(BAD, seq=100 + i)) for i in range(n // 2)]
    out += [accepted(*m.heartbeat(f"lc-good-{i % 5}", seq=i)) for i in range(n - n // 2)]
    return out


POISONS: dict[str, tuple[Callable[..., tuple[str, bytes]], dict[str, Any], str]] = {
    # psycopg refuses before sending: DataError without SQLSTATE
    "nul": (m.heartbeat, {"agent_version": "0.1\x00"}, "NUL"),
    # bigint out of range: 22003
    "int_2_63": (m.heartbeat, {"uptime_s": 2**63}, "22003"),
    # a lone surrogate: UnicodeEncodeError while psycopg copies
    "surrogate": (m.heartbeat, {"agent_version": "\ud800"}, "UnicodeEncodeError"),
    # jsonb refuses \u0000: 22P05
    "jsonb_nul": (event, {"details": {"k": "\x00"}}, "22P05"),
}


@pytest.mark.parametrize("name", sorted(POISONS))
def test_a_refused_message_is_a_dead_letter_and_the_rest_of_its_batch_commits(
    db_url: str, db: Conn, name: str
) -> None:
    """Issue 13's reproduction: a poison of a known board followed by 100
    valid messages in one batch. Before, the per-message retry met the rows
    the staging tables still held (CardinalityViolation), ten retries
    failed and ingest exited."""
    make, data, reason_mark = POISONS[name]
    poison = poisoned(make, 1, **data)
    good = valid_batch(100)
    with psycopg.connect(db_url) as conn:
        result = BatchWriter(conn).write([poison, *good], [])
    assert [r.reason for r in result.rejected_by_db] == ["db_rejected"]
    assert result.isolated
    assert result.duplicates == 0  # every attempt saw only its own rows
    assert count(db, "telemetry_heartbeat") == 100
    latest = db.execute(
        "SELECT seq FROM board_latest WHERE device_id = %s AND kind = 'heartbeat'", (BAD,)
    ).fetchone()
    assert latest == (149,)
    row = db.execute(
        "SELECT device_id, reason, detail, payload, payload_size, payload_sha256 FROM dead_letters"
    ).fetchone()
    assert row is not None
    device, reason, detail, payload, size, sha = row
    assert (device, reason) == (BAD, "db_rejected")
    assert reason_mark in detail
    assert bytes(payload) == poison.payload
    assert size == len(poison.payload)
    assert bytes(sha) == hashlib.sha256(poison.payload).digest()


def test_poison_anywhere_in_the_batch_costs_only_itself(db_url: str, db: Conn) -> None:
    good = valid_batch(200)
    poisons = {
        0: poisoned(m.heartbeat, 1, agent_version="a\x00"),
        57: poisoned(m.heartbeat, 2, uptime_s=2**64),
        58: poisoned(m.heartbeat, 3, agent_version="\udfff"),
        200: poisoned(m.heartbeat, 4, spool_pending=-(2**63) - 1),
    }
    batch = list(good)
    for at in sorted(poisons, reverse=True):
        batch.insert(at, poisons[at])
    with psycopg.connect(db_url) as conn:
        result = BatchWriter(conn).write(batch, [])
    refused = sorted(r.payload or b"" for r in result.rejected_by_db)
    assert refused == sorted(p.payload for p in poisons.values())
    assert count(db, "telemetry_heartbeat") == 200
    assert count(db, "dead_letters") == 4
    assert result.rows_inserted == 200


def test_a_dead_letter_the_database_refuses_is_kept_in_minimal_form(db_url: str, db: Conn) -> None:
    topic = "fleet/v1/lc-odd-01/event/\ud800"
    odd = Rejected(topic, "lc-odd-01", "bad_topic", "detail with\x00NUL", b"\x00\xff{", NOW)
    plain = Rejected("fleet/v1/lc-odd-01/state", "lc-odd-01", "bad_json", "x", b"{", NOW)
    with psycopg.connect(db_url) as conn:
        result = BatchWriter(conn).write(valid_batch(10), [odd, plain])
    assert result.dead_letters == 2
    assert count(db, "telemetry_heartbeat") == 10
    rows = db.execute(
        "SELECT topic, reason, detail, payload, payload_sha256 FROM dead_letters ORDER BY id"
    ).fetchall()
    by_reason = {r[1]: r for r in rows}
    topic_kept, _, detail, payload, sha = by_reason["bad_topic"]
    assert topic_kept == "fleet/v1/lc-odd-01/event/\\ud800"
    assert "payload in base64" in detail
    assert bytes(payload) == b"AP97"  # base64 of 00 ff 7b
    assert bytes(sha) == hashlib.sha256(b"\x00\xff{").digest()
    assert bytes(by_reason["bad_json"][3]) == b"{"


def test_database_errors_are_raised_never_dead_lettered(
    db_url: str, db: Conn, db_owner: Conn
) -> None:
    """What is wrong with the database, not with a message, goes back to the
    caller (which keeps the batch unacknowledged and retries)."""
    batch = [poisoned(m.heartbeat, 1, agent_version="0.1\x00"), *valid_batch(10)]
    db_owner.execute("ALTER TABLE telemetry_heartbeat RENAME TO telemetry_heartbeat_away")
    with psycopg.connect(db_url) as conn, pytest.raises(psycopg.errors.UndefinedTable):
        BatchWriter(conn).write(batch, [])
    db_owner.execute("ALTER TABLE telemetry_heartbeat_away RENAME TO telemetry_heartbeat")
    with psycopg.connect(db_url) as conn:
        conn.execute("SET default_transaction_read_only = on")  # as after a failover
        conn.commit()
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            BatchWriter(conn).write(batch, [])
        conn.close()
        with pytest.raises(psycopg.OperationalError):
            BatchWriter(conn).write(batch, [])
    assert count(db, "dead_letters") == 0
    assert count(db, "telemetry_heartbeat") == 0


def test_a_poisoned_batch_never_stops_ingest(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn, db_owner: Conn
) -> None:
    """End to end: a heartbeat the protocol accepts and a constraint refuses,
    among 100 valid messages of its own board and others. Everything else is
    stored, the poison is a dead letter, all is acknowledged, and ingest
    neither exits nor reconnects."""
    db_owner.execute(
        "ALTER TABLE telemetry_heartbeat ADD CONSTRAINT no_poison CHECK (agent_version <> 'poison')"
    )
    stream = [m.heartbeat(BAD, seq=1, agent_version="poison")]
    stream += [m.heartbeat(BAD, seq=1 + i) for i in range(1, 51)]
    stream += [m.heartbeat(f"lc-good-{i % 5}", seq=i) for i in range(50)]
    settings = make_settings(ingest_batch_delay_ms=500, ingest_retry_max_s=0.2)
    with running(settings) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
        assert service.fatal is None
        assert service.consumer.connects == 1
        assert service.stats.isolations >= 1
    assert count(db, "telemetry_heartbeat") == 100
    rows = db.execute("SELECT device_id, reason, detail FROM dead_letters").fetchall()
    assert len(rows) == 1
    assert rows[0][:2] == (BAD, "db_rejected")
    assert "23514" in rows[0][2]  # check_violation, as PostgreSQL said
