"""Hostile ``logs`` messages and network readings with hostile ``data_usage``
through a real Mosquitto and the real ingest: each is a dead letter naming
why, or stored sanely; the rest of the stream is stored; no secret is kept in
a dead letter (not even compressed or in base64) nor written to the log."""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import logging
import re
import zlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
import fleet_protocol.usage as fu
from fleet_protocol.logs import MAX_LOG_TEXT_BYTES, gzip_text
from fleet_server.settings import Settings
from tests.server.ingest.conftest import running
from tests.server.ingest.test_log_bundles import BOARD, bundle
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]
SECRET = b"Cam-Secret-42"
LEAK = b"camera rtsp://admin:" + SECRET + b"@10.20.0.5/s1 timeout\n"
_BASE64 = re.compile(rb"[A-Za-z0-9+/=]{12,}")


def _inflated(data: bytes) -> bytes:
    """What a prefix of gzip or zlib bytes still inflates to (b"" if none)."""
    for wbits in (31, 15):
        inflater = zlib.decompressobj(wbits)
        try:
            return inflater.decompress(data, 1 << 20)
        except zlib.error:
            continue
    return b""


def exposes(kept: bytes, secret: bytes = SECRET) -> bool:
    """Whether ``kept`` shows ``secret``: as is, inflated, or in base64."""
    if secret in kept or secret in _inflated(kept):
        return True
    for run in _BASE64.findall(kept):
        for cut in range(4):  # a run cut anywhere still decodes in one of four
            try:
                decoded = base64.b64decode(run[cut:][: (len(run) - cut) // 4 * 4])
            except binascii.Error:
                continue
            if secret in decoded or secret in _inflated(decoded):
                return True
    return False


def test_exposes_sees_a_secret_compressed_or_in_base64() -> None:
    assert exposes(b"x" + base64.b64encode(gzip_text(LEAK)) + b"y")
    assert exposes(gzip_text(LEAK)[:-8])  # a cut gzip still inflates
    assert exposes(b'"body":"' + base64.b64encode(b"..." + LEAK)[:-3])
    assert not exposes(b'{"body":"(removed)"}')


def network(seq: int, usage: dict[str, Any] | None, *, at_days: int = 0) -> tuple[str, bytes]:
    at = m.T0 + timedelta(days=at_days, seconds=seq)
    doc: dict[str, Any] = {
        "schema_version": 1,
        "device_id": BOARD,
        "boot": 1,
        "seq": seq,
        "measured_at": at.isoformat(),
        "sent_at": at.isoformat(),
        "data": {"link_up": True, **({} if usage is None else {"data_usage": usage})},
    }
    return fp.telemetry_topic(BOARD, "network"), json.dumps(doc).encode()


def usage(day: str = "2026-11-28", **values: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "day": day,
        "day_sent": 100,
        "day_received": 200,
        "month": day[:7],
        "month_sent": 1_000,
        "month_received": 2_000,
    }
    return doc | values


def test_hostile_bundles_and_readings_are_dead_letters_without_secrets(
    make_settings: Callable[..., Settings],
    mosquitto: Mosquitto,
    db: Conn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    topic, good = bundle(20, gzip_text(b"fine\n"))

    def edited(seq: int, **data: Any) -> tuple[str, bytes]:
        doc = json.loads(good)
        doc["seq"] = seq
        doc["data"].update(data)
        return topic, json.dumps(doc).encode()

    other = json.loads(good) | {"device_id": "lc-mlt-99", "seq": 21}
    bomb = gzip.compress(b"\0" * (MAX_LOG_TEXT_BYTES + 1), mtime=0)
    assert len(bomb) < 4096
    ahead = fu.local_day(datetime.now(UTC) + timedelta(days=2)).isoformat()
    future = network(38, usage(day=ahead), at_days=(datetime.now(UTC) - m.T0).days + 2)
    stream = [
        (topic, json.dumps(other).encode()),  # wrong device id in the envelope
        edited(22, body=base64.b64encode(b"not gzip: " + LEAK).decode()),
        edited(23, body=base64.b64encode(bomb).decode()),
        edited(24, body=base64.b64encode(gzip_text(LEAK)).decode()),  # small: kept whole before
        (topic, gzip_text(b'{"seq": 25} ' + LEAK)),  # raw gzip on the topic
        bundle(26, gzip_text(b"still fine\n")),
        network(30, usage(day_sent=2**63)),  # over int64
        network(31, usage(month_sent=2**63 - 1, month_received=-1)),
        network(32, usage(month="2026-12")),  # the day is not in the month
        network(33, usage(day="2031-11-28")),  # a day years ahead of the reading
        network(34, usage(day="2026-11-20")),  # a day a week before it
        network(35, usage(day_sent=500, month_sent=5_000)),
        network(36, usage(day_sent=90, month_sent=900)),  # counters going backwards
        network(37, usage(day="2026-11-29"), at_days=1),  # across midnight: stored
        future,  # measured two days after it arrives
    ]
    caplog.set_level(logging.DEBUG)
    with running(make_settings()) as service:
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        pub.close()
        wait_for(lambda: service.stats.acked == len(stream), what="everything acknowledged")
    letters = db.execute("SELECT reason, detail, payload FROM dead_letters ORDER BY id").fetchall()
    reasons = [r[0] for r in letters]
    assert reasons.count("device_mismatch") == 1
    assert reasons.count("clock_out_of_range") == 1
    assert reasons.count("bad_json") == 1  # the raw gzip
    assert reasons.count("invalid_payload") == 8, [(r[0], r[1][:150]) for r in letters]
    details = "\n".join(str(r[1]) for r in letters)
    for expected in (
        "gzip",
        "unpacks to more than",
        "credentials",
        "less than or equal to 10000000000000",
        "day must lie in month",
        "data_usage.day 2031-11-28 is +1826 days",
        "data_usage.day 2026-11-20 is -8 days",
    ):
        assert expected in details, expected
    for reason, detail, kept in letters:
        assert not exposes(bytes(kept)), (reason, detail, bytes(kept)[:200])
        assert SECRET.decode() not in detail
    assert SECRET.decode() not in caplog.text
    assert not exposes(caplog.text.encode())
    assert [r[0] for r in db.execute("SELECT seq FROM log_bundles")] == [26]
    stored = db.execute("SELECT seq FROM telemetry_network ORDER BY seq").fetchall()
    assert [r[0] for r in stored] == [35, 36, 37]
    days = db.execute(
        "SELECT day::text, sent, month_sent FROM board_data_usage ORDER BY day"
    ).fetchall()
    assert days == [("2026-11-28", 500, 5_000), ("2026-11-29", 100, 1_000)]
