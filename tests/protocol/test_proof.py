"""Screen and camera proof on the wire: picture checks, the snapshot channel's
size limits (a JPEG under the broker's 64 KiB packet) and ``screenshot``'s
arguments."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from fleet_protocol.bounds import INT32_MAX
from fleet_protocol.messages import MAX_BOOT, MAX_SEQ, MAX_SNAPSHOT_BYTES
from tests.protocol.payloads import reject, variant

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 3, 2, 2, 31, 4, 123456, tzinfo=UTC)


def _max_packet_size(conf: str) -> int:
    found = re.findall(r"^max_packet_size\s+(\d+)\s*$", (ROOT / conf).read_text(), re.MULTILINE)
    assert len(found) == 1, conf
    return int(found[0])


def _varint_len(n: int) -> int:
    return 1 if n < 128 else 2 if n < 16_384 else 3 if n < 2_097_152 else 4


def _largest_snapshot() -> fp.SnapshotMessage:
    """Every field of a snapshot at its longest."""
    return fp.SnapshotMessage(
        schema_version=1,
        device_id="a" * 64,
        boot=MAX_BOOT,
        seq=MAX_SEQ,
        measured_at=AT,
        sent_at=AT,
        replay=True,
        data=fp.SnapshotData(
            source="camera",
            camera_id="c" * 32,
            reason="command",
            request_id="r" * 64,
            captured_at=AT,
            width=1920,
            height=1080,
            phash="f" * 16,
            # Base64Bytes: the model takes the base64 text, in Python too
            jpeg=base64.b64encode(
                b"\xff\xd8\xff" + (bytes(range(256)) * 200)[: MAX_SNAPSHOT_BYTES - 3]
            ),
        ),
    )


@pytest.mark.parametrize("conf", ["broker/mosquitto.conf", "broker/dev.conf"])
def test_the_largest_snapshot_fits_the_payload_limit_and_the_brokers_packet(conf: str) -> None:
    message = _largest_snapshot()
    assert len(message.data.jpeg) == MAX_SNAPSHOT_BYTES
    payload = fp.encode(message)
    assert len(payload) <= fp.MAX_SNAPSHOT_PAYLOAD_BYTES
    assert fp.decode(fp.snapshot_topic(message.device_id), payload) == message
    # The MQTT PUBLISH packet around it (MQTT 5, with up to 64 bytes of
    # properties): fixed header, topic, packet id, properties, payload.
    topic = fp.snapshot_topic(message.device_id).encode()
    rest = 2 + len(topic) + 2 + _varint_len(64) + 64 + fp.MAX_SNAPSHOT_PAYLOAD_BYTES
    assert 1 + _varint_len(rest) + rest <= _max_packet_size(conf)


def test_other_topics_keep_the_16_kib_limit() -> None:
    assert fp.MAX_PAYLOAD_BYTES == 16 * 1024 < fp.MAX_SNAPSHOT_PAYLOAD_BYTES == 64 * 1024 - 512
    topic, payload = variant("telemetry_heartbeat")
    padded = payload + b" " * (fp.MAX_PAYLOAD_BYTES - len(payload) + 1)
    assert reject(topic, padded).reason == "oversize"


def test_a_snapshot_may_be_larger_whatever_max_bytes_says() -> None:
    topic, payload = variant("snapshot_screen")
    at_limit = payload + b" " * (fp.MAX_SNAPSHOT_PAYLOAD_BYTES - len(payload))
    assert fp.decode(topic, at_limit, max_bytes=1024).device_id == "lc-mlt-01"
    error = reject(topic, at_limit + b" ", max_bytes=1024)
    assert error.reason == "oversize"
    assert str(fp.MAX_SNAPSHOT_PAYLOAD_BYTES) in error.detail


def _jpeg(size: int) -> str:
    body = (bytes(range(256)) * (size // 256 + 1))[: size - 3]
    return base64.b64encode(b"\xff\xd8\xff" + body).decode()


def test_the_jpeg_is_at_most_max_snapshot_bytes() -> None:
    fp.decode(*variant("snapshot_screen", ("data.jpeg", _jpeg(MAX_SNAPSHOT_BYTES))))
    error = reject(*variant("snapshot_screen", ("data.jpeg", _jpeg(MAX_SNAPSHOT_BYTES + 1))))
    assert error.reason == "invalid_payload"
    assert "data.jpeg" in error.detail
    assert reject(*variant("snapshot_screen", ("data.jpeg", "AAA="))).reason == "invalid_payload"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("data.source", "projector"),
        ("data.reason", "curiosity"),
        ("data.camera_id", "cam/1"),
        ("data.request_id", "-starts-with-a-dash"),
        ("data.width", 0),
        ("data.width", 1921),
        ("data.height", 1081),
        ("data.phash", "1888A81656540A98"),
        ("data.phash", "1888a81656540a9"),
        ("data.captured_at", "2026-03-02 02:31:04"),
        ("data.extra", 1),
    ],
)
def test_snapshot_fields_are_checked(path: str, value: Any) -> None:
    error = reject(*variant("snapshot_screen", (path, value)))
    assert error.reason == "invalid_payload"
    assert path.rsplit(".", maxsplit=1)[-1] in error.detail


SCREEN = "data.screen"
PICTURE = "data.cameras.0.picture"


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("telemetry_display_screen", f"{SCREEN}.luma_mean", 255.5),
        ("telemetry_display_screen", f"{SCREEN}.luma_stddev", -1),
        ("telemetry_display_screen", f"{SCREEN}.same_count", 0),
        ("telemetry_display_screen", f"{SCREEN}.same_count", INT32_MAX + 1),
        ("telemetry_display_screen", f"{SCREEN}.reference_distance", 65),
        ("telemetry_display_screen", f"{SCREEN}.source", "webcam"),
        ("telemetry_display_screen", f"{SCREEN}.frozen", "yes"),
        ("telemetry_display_screen", f"{SCREEN}.covered", False),  # a camera's field
        ("telemetry_display_screen", "data.screen_error", "rtsp://admin:secret@10.0.0.5/x"),
        ("telemetry_camera_picture", f"{PICTURE}.phash", "not-a-hash-at-al"),
        ("telemetry_camera_picture", f"{PICTURE}.moved", 1),
        ("telemetry_camera_picture", f"{PICTURE}.source", "x11"),  # the screen's field
        ("telemetry_camera_picture", "data.cameras.0.firmware", "V" * 65),
        ("telemetry_camera_picture", "data.cameras.0.default_credentials", "no"),
    ],
)
def test_picture_checks_are_checked(name: str, path: str, value: Any) -> None:
    error = reject(*variant(name, (path, value)))
    assert error.reason in {"invalid_payload", "credential_leak"}


def test_readings_without_proof_are_unchanged() -> None:
    """The new fields are optional and left out when empty: a board without
    screen or camera proof sends the same bytes as before."""
    for name in ("telemetry_display", "telemetry_camera"):
        topic, payload = variant(name)
        message = fp.decode(topic, payload)
        wire = json.loads(fp.encode(message))
        assert "screen" not in wire["data"]
        assert all("picture" not in camera for camera in wire["data"].get("cameras", []))


@pytest.mark.parametrize(
    ("args", "source", "camera_id"),
    [
        ({}, "screen", None),
        ({"source": "screen"}, "screen", None),
        ({"source": "camera", "camera_id": "cam-gate-in"}, "camera", "cam-gate-in"),
        ({"source": "all"}, "all", None),
    ],
)
def test_screenshot_args(args: dict[str, Any], source: str, camera_id: str | None) -> None:
    parsed = fp.check_screenshot_args(args)
    assert (parsed.source, parsed.camera_id) == (source, camera_id)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        ({"source": "screen", "camera_id": "cam-gate-in"}, "camera_id"),
        ({"source": "all", "camera_id": "cam-gate-in"}, "camera_id"),
        ({"source": "projector"}, "source"),
        ({"source": "camera", "camera_id": "../etc"}, "camera_id"),
        ({"quality": 100}, "quality"),
        ({"source": 1}, "source"),
    ],
)
def test_screenshot_args_refused_naming_the_field(args: dict[str, Any], names: str) -> None:
    with pytest.raises(fp.ProtocolError) as caught:
        fp.check_screenshot_args(args)
    assert caught.value.reason == "invalid_args"
    assert caught.value.detail.startswith(f"screenshot: {names}")
