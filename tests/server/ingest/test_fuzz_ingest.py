"""Property-based fuzzing of ingest through real Mosquitto and PostgreSQL.

Hypothesis generates hostile payloads for every board → server topic — the
protocol's golden examples (tests/fixtures/protocol) with fields replaced by
hostile values, removed, added, or their bytes cut and corrupted — and
publishes them from one board, interleaved with valid messages of other
boards. Whatever it sends, ingest stays up, every valid message is stored
exactly once, every payload the protocol refuses is dead-lettered with a
reason, and nothing the protocol refuses reaches the telemetry tables.

The suite runs a bounded number of examples; set FLEET_FUZZ_EXAMPLES for a
longer run (e.g. ``FLEET_FUZZ_EXAMPLES=500 pytest tests/server/ingest/test_fuzz_ingest.py``).
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fleet_protocol as fp
import fleet_protocol.usage as fu
from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from fleet_server.telemetry.rows import SPECS
from tests.server.ingest.conftest import running
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "protocol"
EXAMPLES = int(os.environ.get("FLEET_FUZZ_EXAMPLES", "20"))
BAD_BOARD = "fz-bad"
GOOD_BOARDS = [f"fz-good-{i}" for i in range(3)]
TABLES = sorted({spec.table for spec in SPECS.values()})


SERVER_TO_BOARD = (
    fp.Channel.CMD,
    fp.Channel.CONFIG_DESIRED,
    fp.Channel.RECEIPT,
    fp.Channel.CAPABILITIES,
)


def _seeds() -> list[tuple[str, dict[str, Any]]]:
    """(topic suffix after the device id, payload) of every board → server example."""
    seeds = []
    for path in sorted(FIXTURES.glob("*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        topic = fp.parse_topic(doc["topic"])
        if topic.channel in SERVER_TO_BOARD:
            continue  # server → board: ingest never subscribes to them
        suffix = doc["topic"].split("/", 3)[3]
        seeds.append((suffix, doc["payload"]))
    assert len(seeds) >= 9, "every board → server message type has a golden example"
    return seeds


SEEDS = _seeds()

HOSTILE: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1.0,
    1.5,
    2**31,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    2**64,
    10**40,
    1e308,
    "",
    "0.1\x00",
    "\x00",
    "a\x01b",
    "\x7f",
    "\ud800",
    "\udfff",
    "x" * 5000,
    "1700000000",
    "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00Z",
    "2026-13-45T25:61:61Z",
    "2026-12-06T10:00:00",
    "rtsp://admin:secret@10.0.0.5/stream1",
    "'; DROP TABLE boards; --",
    "online",
    "propaganda",
    [],
    [1, 2, 3],
    {},
    {"\x00key": "v"},
    {"k": "\x00"},
    {"nested": {"deeper": [None, 2**63, "\ud800"]}},
]
#: Raw JSON tokens json.dumps cannot write.
RAW_TOKENS = ["NaN", "Infinity", "-Infinity", "1e999", "-0", "01", "1.", '"\\u0000"']


def _now_envelope(payload: dict[str, Any], device: str, boot: int, seq: int) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    out = dict(payload)
    out.update(device_id=device, boot=boot, seq=seq, measured_at=now, sent_at=now)
    usage = (out.get("data") or {}).get("data_usage")
    if isinstance(usage, dict):  # a reading's data usage is its own day's
        today = fu.local_day(datetime.now(UTC))
        day = dict(usage, day=today.isoformat(), month=fu.month_of(today))
        out["data"] = dict(out["data"], data_usage=day)
    return out


@st.composite
def hostile_messages(draw: st.DrawFn, seq: int) -> tuple[str, bytes]:
    suffix, seed = draw(st.sampled_from(SEEDS))
    doc = _now_envelope(seed, BAD_BOARD, 1, seq)
    topic = f"{fp.PREFIX}/{BAD_BOARD}/{suffix}"
    action = draw(st.sampled_from(["replace", "replace_data", "drop", "add", "raw", "bytes"]))
    data = dict(doc.get("data") or {})
    raw_token: str | None = None
    if action == "replace":
        doc[draw(st.sampled_from(sorted(doc)))] = draw(st.sampled_from(HOSTILE))
    elif action == "replace_data" and data:
        data[draw(st.sampled_from(sorted(data)))] = draw(st.sampled_from(HOSTILE))
        doc["data"] = data
    elif action == "drop":
        doc.pop(draw(st.sampled_from(sorted(doc))))
    elif action == "add":
        target = doc if draw(st.booleans()) or not data else data
        target[draw(st.sampled_from(["extra", "\x00", "ünïcode", "data"]))] = draw(
            st.sampled_from(HOSTILE)
        )
        if target is data:
            doc["data"] = data
    elif action == "raw":
        raw_token = draw(st.sampled_from(RAW_TOKENS))
        key = draw(st.sampled_from(sorted(data) or ["seq"]))
        (data if data else doc)[key] = "__RAW__"
        if data:
            doc["data"] = data
    text = json.dumps(doc, ensure_ascii=draw(st.booleans()))
    if raw_token is not None:
        text = text.replace('"__RAW__"', raw_token)
    try:
        payload = text.encode("utf-8", "surrogatepass")
    except UnicodeEncodeError:  # pragma: no cover - surrogatepass encodes everything
        payload = text.encode("utf-8", "replace")
    if action == "bytes":
        cut = draw(st.integers(min_value=0, max_value=len(payload)))
        corrupt = draw(st.sampled_from([b"", b"\x00", b"\xff\xfe", b"\xc3", b'"', b"}"]))
        payload = payload[:cut] + corrupt + payload[cut:]
    return topic, payload


def _valid(board: str, seq: int) -> tuple[str, bytes]:
    suffix, seed = SEEDS[seq % len(SEEDS)]
    doc = _now_envelope(seed, board, 1, seq)
    return f"{fp.PREFIX}/{board}/{suffix}", json.dumps(doc).encode()


def _distinct_rows(db: Conn, device: str) -> set[tuple[str, int, int]]:
    found: set[tuple[str, int, int]] = set()
    for table in TABLES:
        for boot, seq in db.execute(
            f"SELECT DISTINCT boot, seq FROM {table} WHERE device_id = %s",
            (device,),
        ):
            found.add((table, boot, seq))
    return found


def _rows(db: Conn, device: str) -> int:
    total = 0
    for table in TABLES:
        row = db.execute(
            f"SELECT count(*) FROM (SELECT DISTINCT boot, seq FROM {table} WHERE device_id = %s) t",
            (device,),
        ).fetchone()
        assert row is not None
        total += int(row[0])
    return total


def _table_of(topic: str) -> str:
    return SPECS[fp.model_for(fp.parse_topic(topic))].table


@pytest.fixture
def fuzz_ingest(make_settings: Callable[..., Settings]) -> Iterator[IngestService]:
    settings_ = make_settings(
        ingest_require_known_board=False, ingest_dead_letter_board_per_minute=1_000_000
    )
    with running(settings_) as service:
        yield service


_seqs = itertools.count(1)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_hostile_payloads_never_stop_ingest_nor_cost_valid_messages(
    data: st.DataObject, fuzz_ingest: IngestService, mosquitto: Mosquitto, db: Conn
) -> None:
    size = data.draw(st.integers(min_value=1, max_value=12), label="hostile messages")
    hostile = [data.draw(hostile_messages(next(_seqs))) for _ in range(size)]
    good: list[tuple[str, bytes]] = []
    batch: list[tuple[str, bytes]] = []
    for topic, payload in hostile:
        batch.append((topic, payload))
        for board in GOOD_BOARDS:
            good.append(_valid(board, next(_seqs)))
            batch.append(good[-1])
    # What the protocol makes of each hostile payload, judged as ingest will.
    accepted: set[tuple[str, int, int]] = set()
    refused = 0
    for topic, payload in hostile:
        try:
            message = fp.decode(topic, payload, received_at=datetime.now(UTC))
        except fp.ProtocolError:
            refused += 1
        else:
            assert isinstance(message, fp.Envelope)
            if isinstance(message.data, fp.CameraData) and not message.data.cameras:
                continue  # a board without cameras: one row a camera, so none
            accepted.add((_table_of(topic), message.boot, message.seq))

    before_dead = _dead(db)
    before_bad = _distinct_rows(db, BAD_BOARD)
    before_good = {b: _rows(db, b) for b in GOOD_BOARDS}
    received = fuzz_ingest.stats.received
    pub = Publisher(mosquitto.port, client_id=f"fuzz-{next(_seqs)}")
    try:
        pub.publish_all(batch)
    finally:
        pub.close()
    wait_for(
        lambda: (
            fuzz_ingest.stats.received >= received + len(batch)
            and fuzz_ingest.stats.acked + fuzz_ingest.stats.ack_skipped >= received + len(batch)
        ),
        timeout=30,
        what="every message committed and acknowledged",
    )
    assert fuzz_ingest.fatal is None
    assert fuzz_ingest.consumer.fatal is None
    # Every valid message of the other boards: stored exactly once.
    for board in GOOD_BOARDS:
        mine = sum(1 for t, _ in good if t.split("/")[2] == board)
        assert _rows(db, board) == before_good[board] + mine
    # Refused payloads are dead letters with a reason; nothing else of the bad
    # board's is (a payload the protocol accepts may still be refused by the
    # database — then it is a dead letter too, never a crash).
    dead = _dead(db) - before_dead
    now_bad = _distinct_rows(db, BAD_BOARD)
    stored = now_bad - before_bad
    assert stored <= accepted, f"stored what the protocol refuses: {stored - accepted}"
    assert dead >= refused, "a refused payload is missing from the dead letters"
    # An accepted message is stored (now or by an earlier example with the
    # same boot and seq) or, refused by the database, a dead letter.
    assert dead - refused >= len(accepted - now_bad)
    unexplained = db.execute(
        "SELECT count(*) FROM dead_letters WHERE reason IS NULL OR reason = ''"
    ).fetchone()
    assert unexplained == (0,)


def _dead(db: Conn) -> int:
    row = db.execute(
        "SELECT count(*) FROM dead_letters WHERE device_id = %s OR device_id IS NULL",
        (BAD_BOARD,),
    ).fetchone()
    assert row is not None
    return int(row[0])
