"""Logs and diagnostics on the wire: ``collect_logs``'s arguments, the logs
channel's size limits (a gzip body under the broker's 64 KiB packet) and
every way the server refuses a bundle's body."""

from __future__ import annotations

import base64
import gzip
from datetime import UTC, datetime
from typing import Any

import pytest

import fleet_protocol as fp
from fleet_protocol.logs import MAX_LOG_TEXT_BYTES, gunzip, gzip_text
from fleet_protocol.messages import MAX_BOOT, MAX_SEQ
from tests.protocol.payloads import DELETE, reject, variant
from tests.protocol.test_proof import _max_packet_size, _varint_len

AT = datetime(2026, 3, 2, 2, 31, 4, 123456, tzinfo=UTC)
NAME = "logs_journal"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _body(text: bytes) -> tuple[tuple[str, Any], tuple[str, Any]]:
    """The changes that make the fixture carry ``text``."""
    return ("data.body", _b64(gzip_text(text))), ("data.original_bytes", len(text))


def _largest() -> fp.LogBundleMessage:
    # stored, not compressed: 18 bytes of gzip header and trailer, 5 of block header
    body = gzip.compress(b"x" * (fp.MAX_LOG_BUNDLE_BYTES - 23), compresslevel=0, mtime=0)
    assert len(body) == fp.MAX_LOG_BUNDLE_BYTES
    return fp.LogBundleMessage(
        schema_version=1,
        device_id="a" * 64,
        boot=MAX_BOOT,
        seq=MAX_SEQ,
        measured_at=AT,
        sent_at=AT,
        replay=True,
        data=fp.LogBundleData(
            request_id="r" * 64,
            kind="journal",
            captured_at=AT,
            since=AT,
            lines=fp.logs.MAX_LOG_LINES,
            truncated=True,
            original_bytes=2**31 - 1,
            body=base64.b64encode(body),
        ),
    )


@pytest.mark.parametrize("conf", ["broker/mosquitto.conf", "broker/dev.conf"])
def test_the_largest_bundle_fits_the_payload_limit_and_the_brokers_packet(conf: str) -> None:
    message = _largest()
    payload = fp.encode(message)
    assert len(payload) <= fp.MAX_SNAPSHOT_PAYLOAD_BYTES
    assert fp.decode(fp.logs_topic(message.device_id), payload) == message
    topic = fp.logs_topic(message.device_id).encode()
    rest = 2 + len(topic) + 2 + _varint_len(64) + 64 + fp.MAX_SNAPSHOT_PAYLOAD_BYTES
    assert 1 + _varint_len(rest) + rest <= _max_packet_size(conf)


def test_only_the_logs_channel_itself_may_be_larger() -> None:
    topic, payload = variant(NAME)
    at_limit = payload + b" " * (fp.MAX_SNAPSHOT_PAYLOAD_BYTES - len(payload))
    assert fp.decode(topic, at_limit, max_bytes=1024).device_id == "lc-mlt-01"
    assert reject(topic, at_limit + b" ").reason == "oversize"
    assert fp.large_payload_allowed("fleet/v1/lc-mlt-01/logs")
    assert not fp.large_payload_allowed("fleet/v1/lc-mlt-01/event/logs")
    assert not fp.large_payload_allowed("fleet/v1/lc-mlt-01/logs/extra")
    event, body = variant("event_mains_lost")
    padded = body + b" " * (fp.MAX_PAYLOAD_BYTES - len(body) + 1)
    assert reject(event.replace("mains_lost", "logs"), padded).reason == "oversize"


def test_logs_topic_round_trip() -> None:
    parsed = fp.parse_topic(fp.logs_topic("lc-mlt-01"))
    assert (parsed.device_id, parsed.channel, parsed.name) == ("lc-mlt-01", fp.Channel.LOGS, None)
    assert "fleet/v1/+/logs" in fp.subscription_filters()


def test_a_diagnostics_bundle_has_no_window() -> None:
    report = b'{"agent": {"version": "1.4.0"}}'
    diagnostics = (("data.kind", "diagnostics"), ("data.lines", 0), *_body(report))
    assert "since" in reject(*variant(NAME, *diagnostics)).detail  # the journal's since is kept
    bundle = fp.decode(*variant(NAME, *diagnostics, ("data.since", DELETE)))
    assert isinstance(bundle, fp.LogBundleMessage)
    assert gunzip(bundle.data.body) == report


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ((("data.body", "not base64!"),), "base64"),
        ((("data.body", _b64(b"\xff\xd8\xff" + b"x" * 30)),), "not gzip"),
        ((("data.body", _b64(gzip_text(b"line\n")[:-6])),), "cut short"),
        ((("data.body", _b64(gzip_text(b"line\n")[:12] + b"\x00" * 20)),), "not a valid gzip"),
        ((("data.body", _b64(gzip_text(b"line\n") + b"junk")),), "after the gzip"),
        ((("data.body", _b64(gzip.compress(b"\x00" * (MAX_LOG_TEXT_BYTES + 1)))),), "more than"),
        (_body(b"\xff\xfe not utf-8\n"), "not UTF-8"),
        (_body(b"pulling rtsp://admin:secret@10.0.0.5/stream\n"), "credentials"),
        ((("data.original_bytes", 10),), "original_bytes"),
        ((("data.since", None),), "since"),
        ((("data.lines", 5001),), "lines"),
        ((("data.lines", -1),), "lines"),
        ((("data.kind", "coredump"),), "kind"),
        ((("data.compression", "zstd"),), "compression"),
        ((("data.request_id", "-dash"),), "request_id"),
        ((("data.truncated", "no"),), "truncated"),
        ((("data.extra", 1),), "extra"),
    ],
)
def test_bundles_refused_naming_the_problem(
    changes: tuple[tuple[str, Any], ...], words: str
) -> None:
    error = reject(*variant(NAME, *changes))
    assert error.reason == "invalid_payload"
    assert words in error.detail


def test_the_body_is_at_most_max_log_bundle_bytes() -> None:
    raw = b"\x1f\x8b" + b"\x00" * fp.MAX_LOG_BUNDLE_BYTES
    error = reject(*variant(NAME, ("data.body", _b64(raw))))
    assert "data.body" in error.detail


def test_gunzip_reads_no_more_than_its_limit() -> None:
    assert gunzip(gzip_text(b"abc"), limit=3) == b"abc"
    with pytest.raises(ValueError, match="more than 2 bytes"):
        gunzip(gzip_text(b"abc"), limit=2)
    assert gzip_text(b"same") == gzip_text(b"same")  # no time stamp in it


def test_collect_logs_defaults() -> None:
    args = fp.check_collect_logs_args({})
    assert (args.minutes, args.lines, args.include) == (60, 1000, ["journal", "diagnostics"])
    args = fp.check_collect_logs_args({"minutes": 1440, "lines": 1, "include": ["diagnostics"]})
    assert (args.minutes, args.lines, args.include) == (1440, 1, ["diagnostics"])


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": 1441}, "minutes"),
        ({"minutes": "60"}, "minutes"),
        ({"minutes": 6.5}, "minutes"),
        ({"minutes": True}, "minutes"),
        ({"lines": 0}, "lines"),
        ({"lines": 5001}, "lines"),
        ({"include": []}, "include"),
        ({"include": ["journal", "journal"]}, "include"),
        ({"include": ["coredump"]}, "include.0"),
        ({"include": "journal"}, "include"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_collect_logs_args_refused_naming_the_field(args: dict[str, Any], field: str) -> None:
    with pytest.raises(fp.ProtocolError) as caught:
        fp.check_collect_logs_args(args)
    assert caught.value.reason == "invalid_args"
    assert caught.value.detail.startswith(f"collect_logs: {field}:")
