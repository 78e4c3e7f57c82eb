"""``decode``/``encode``: round trips of the golden fixtures and every rejection path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fleet_protocol import (
    DEFAULT_CLOCK_FUTURE_S,
    DEFAULT_CLOCK_PAST_S,
    MAX_PAYLOAD_BYTES,
    CameraMessage,
    EventMessage,
    ProtocolError,
    StateMessage,
    decode,
    encode,
    model_for,
    parse_topic,
)
from fleet_protocol.messages import MAX_BOOT, MAX_SEQ
from tests.protocol.payloads import DELETE, LEAK, NAMES, fixture, reject, variant


def _cameras(count: int) -> list[dict[str, Any]]:
    camera = fixture("telemetry_camera")["payload"]["data"]["cameras"][0]
    return [dict(camera, camera_id=f"cam-{i:02d}") for i in range(count)]


# --------------------------------------------------------------------------- accepted


@pytest.mark.parametrize("name", NAMES)
def test_round_trip(name: str) -> None:
    fx = fixture(name)
    first = decode(fx["topic"], json.dumps(fx["payload"]))
    assert type(first) is model_for(parse_topic(fx["topic"]))
    wire = encode(first)
    assert wire == json.dumps(json.loads(wire), separators=(",", ":"), ensure_ascii=False).encode()
    assert decode(fx["topic"], wire) == first


def test_decode_accepts_str_and_bytes() -> None:
    topic, payload = variant("telemetry_heartbeat")
    assert decode(topic, payload) == decode(topic, payload.decode())


def test_times_are_normalised_to_utc() -> None:
    topic, payload = variant("state_online", ("measured_at", "2026-03-02T07:58:10+07:00"))
    message = decode(topic, payload)
    assert isinstance(message, StateMessage)
    assert message.measured_at == datetime(2026, 3, 2, 0, 58, 10, tzinfo=UTC)
    assert message.measured_at.tzinfo is UTC


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param([("seq", MAX_SEQ)], id="max-seq"),
        pytest.param([("boot", MAX_BOOT)], id="max-boot"),
        pytest.param([("boot", 1), ("seq", 0)], id="first-message"),
        pytest.param([("data.cpu_percent", 100), ("data.disk_percent", 0)], id="percent-bounds"),
        pytest.param([("replay", DELETE), ("data.spool_pending", DELETE)], id="defaults"),
    ],
)
def test_boundaries_accepted(changes: list[tuple[str, Any]]) -> None:
    decode(*variant("telemetry_heartbeat", *changes))


def test_sixteen_cameras_accepted() -> None:
    message = decode(*variant("telemetry_camera", ("data.cameras", _cameras(16))))
    assert isinstance(message, CameraMessage)
    assert len(message.data.cameras) == 16


def test_payload_exactly_at_the_limit_is_accepted() -> None:
    topic, payload = variant("telemetry_heartbeat")
    padded = payload + b" " * (MAX_PAYLOAD_BYTES - len(payload))  # JSON allows whitespace
    assert len(padded) == MAX_PAYLOAD_BYTES
    decode(topic, padded)
    assert reject(topic, padded + b" ").reason == "oversize"


def test_max_bytes_is_configurable() -> None:
    topic, payload = variant("telemetry_heartbeat")
    assert reject(topic, payload, max_bytes=len(payload) - 1).reason == "oversize"
    decode(topic, payload, max_bytes=len(payload))


# --------------------------------------------------------------------------- rejected

HB = "telemetry_heartbeat"
CAMERA = "telemetry_camera"
DISPLAY = "telemetry_display"
_HB_TOPIC, _HB_PAYLOAD = variant(HB)


def _topic_case(topic: str, reason: str, case_id: str) -> Any:
    return pytest.param(topic, _HB_PAYLOAD, reason, id=case_id)


def _case(name: str, reason: str, case_id: str, *changes: tuple[str, Any]) -> Any:
    return pytest.param(*variant(name, *changes), reason, id=case_id)


REJECTIONS = [
    # topic
    _topic_case("fleet/v2/lc-mlt-01/telemetry/heartbeat", "bad_topic", "topic-prefix"),
    _topic_case("fleet/v1/lc-mlt-01", "bad_topic", "topic-too-few-levels"),
    _topic_case("fleet/v1/lc-mlt-01/telemetry/heartbeat/x", "bad_topic", "topic-too-many-levels"),
    _topic_case("fleet/v1/lc-mlt-01/telemetry/gps", "bad_topic", "topic-unknown-kind"),
    _topic_case("fleet/v1/+/telemetry/heartbeat", "bad_device_id", "device-plus"),
    _topic_case("fleet/v1/#/telemetry/heartbeat", "bad_device_id", "device-hash"),
    _topic_case("fleet/v1/lc mlt:01/telemetry/heartbeat", "bad_device_id", "device-chars"),
    _topic_case(f"fleet/v1/{'a' * 65}/telemetry/heartbeat", "bad_device_id", "device-too-long"),
    # size and JSON
    pytest.param(_HB_TOPIC, b" " * (MAX_PAYLOAD_BYTES + 1), "oversize", id="oversize"),
    pytest.param(_HB_TOPIC, b'{"schema_version": 1,', "bad_json", id="truncated-json"),
    pytest.param(_HB_TOPIC, b"", "bad_json", id="empty-payload"),
    pytest.param(_HB_TOPIC, b"\xff\xfe{}", "bad_json", id="not-utf8"),
    pytest.param(_HB_TOPIC, b"[1, 2]", "invalid_payload", id="json-array"),
    pytest.param(_HB_TOPIC, b"42", "invalid_payload", id="json-number"),
    pytest.param(_HB_TOPIC, b"null", "invalid_payload", id="json-null"),
    # schema version
    _case(HB, "unsupported_schema", "schema-2", ("schema_version", 2)),
    _case(HB, "unsupported_schema", "schema-string", ("schema_version", "1")),
    _case(HB, "unsupported_schema", "schema-missing", ("schema_version", DELETE)),
    _case("cmd_restart_player", "unsupported_schema", "cmd-schema-2", ("schema_version", 2)),
    _case("config_desired", "unsupported_schema", "desired-schema-0", ("schema_version", 0)),
    # missing and unknown fields
    _case(HB, "invalid_payload", "missing-seq", ("seq", DELETE)),
    _case(HB, "invalid_payload", "missing-data", ("data", DELETE)),
    _case(HB, "invalid_payload", "missing-data-field", ("data.uptime_s", DELETE)),
    _case("state_online", "invalid_payload", "missing-status", ("data.status", DELETE)),
    _case("cmd_restart_player", "invalid_payload", "cmd-missing-id", ("request_id", DELETE)),
    _case(HB, "invalid_payload", "extra-top-level", ("firmware", "2.1")),
    _case(HB, "invalid_payload", "extra-in-data", ("data.fan_rpm", 1200)),
    _case("telemetry_network", "invalid_payload", "extra-in-lte", ("data.lte.imsi", "45204")),
    _case(CAMERA, "invalid_payload", "extra-in-camera", ("data.cameras.0.ip", "x")),
    _case("cmd_restart_player", "invalid_payload", "cmd-extra", ("priority", "high")),
    # strict types
    _case(HB, "invalid_payload", "seq-as-string", ("seq", "10")),
    _case(HB, "invalid_payload", "boot-as-float", ("boot", 12.0)),
    _case(HB, "invalid_payload", "seq-as-bool", ("seq", True)),
    _case(HB, "invalid_payload", "replay-as-string", ("replay", "false")),
    _case(HB, "invalid_payload", "percent-as-string", ("data.cpu_percent", "23.5")),
    _case("telemetry_power", "invalid_payload", "bool-as-int", ("data.on_battery", 1)),
    _case(HB, "invalid_payload", "time-as-epoch", ("measured_at", 1772413150)),
    # times
    _case(HB, "invalid_payload", "naive-measured-at", ("measured_at", "2026-03-02T00:59:10")),
    _case(HB, "invalid_payload", "naive-sent-at", ("sent_at", "2026-03-02T00:59:10")),
    _case(
        DISPLAY,
        "invalid_payload",
        "naive-content-started",
        ("data.content_started_at", "2026-03-02T00:55:00"),
    ),
    _case("cmd_restart_player", "invalid_payload", "naive-expires", ("expires_at", "2026-03-02")),
    # ranges
    _case(HB, "invalid_payload", "boot-0", ("boot", 0)),
    _case(HB, "invalid_payload", "boot-over-int32", ("boot", MAX_BOOT + 1)),
    _case(HB, "invalid_payload", "seq-negative", ("seq", -1)),
    _case(HB, "invalid_payload", "seq-over-bigint", ("seq", MAX_SEQ + 1)),
    _case(HB, "invalid_payload", "cpu-over-100", ("data.cpu_percent", 100.5)),
    _case("telemetry_power", "invalid_payload", "battery-over-100", ("data.battery_percent", 101)),
    _case("telemetry_network", "invalid_payload", "loss-negative", ("data.loss_percent", -1)),
    _case("telemetry_network", "invalid_payload", "lte-over-100", ("data.lte.signal_percent", 120)),
    _case("telemetry_network", "invalid_payload", "rsrp-positive", ("data.lte.rsrp_dbm", 5)),
    _case(CAMERA, "invalid_payload", "17-cameras", ("data.cameras", _cameras(17))),
    _case("telemetry_power", "invalid_payload", "unknown-source", ("data.source", "solar")),
    _case("state_online", "invalid_payload", "unknown-status", ("data.status", "sleeping")),
    _case("state_online", "invalid_payload", "long-version", ("data.agent_version", "1" * 33)),
    _case("event_mains_lost", "invalid_payload", "long-message", ("data.message", "x" * 501)),
    _case(
        "event_mains_lost",
        "invalid_payload",
        "too-many-details",
        ("data.details", {f"k{i}": i for i in range(33)}),
    ),
    # credentials never leave the board
    _case(CAMERA, "credential_leak", "camera-error-leak", ("data.cameras.1.error", LEAK)),
    _case(
        "event_mains_lost",
        "credential_leak",
        "event-message-leak",
        ("data.message", f"camera stream {LEAK} lost"),
    ),
    _case("state_lost", "credential_leak", "state-reason-leak", ("data.reason", LEAK)),
    _case("cmd_result", "credential_leak", "cmd-result-leak", ("data.error", LEAK)),
    _case("config_reported", "credential_leak", "config-error-leak", ("data.error", LEAK)),
    # patterns
    _case(
        "telemetry_display", "invalid_payload", "sha256-upper", ("data.content_sha256", "AB" * 32)
    ),
    _case(
        "telemetry_display", "invalid_payload", "sha256-short", ("data.content_sha256", "a" * 63)
    ),
    _case(DISPLAY, "invalid_payload", "bad-language", ("data.content_language", "VI")),
    _case(CAMERA, "invalid_payload", "bad-camera-id", ("data.cameras.0.camera_id", "/")),
    _case("event_mains_lost", "invalid_payload", "bad-event-type", ("data.type", "Mains-Lost")),
    _case("cmd_restart_player", "invalid_payload", "bad-request-id", ("request_id", "-x")),
    _case(HB, "invalid_payload", "bad-payload-device", ("device_id", "lc+mlt")),
    # the payload must agree with the topic
    _case(HB, "device_mismatch", "device-mismatch", ("device_id", "lc-mlt-02")),
    _case("cmd_restart_player", "device_mismatch", "cmd-device-mismatch", ("device_id", "lc-x")),
    _case("config_desired", "device_mismatch", "desired-device-mismatch", ("device_id", "lc-x")),
    _case("event_mains_lost", "name_mismatch", "event-type-mismatch", ("data.type", "mains_back")),
    _case("cmd_restart_player", "name_mismatch", "cmd-name-mismatch", ("command", "reboot")),
]


@pytest.mark.parametrize(("topic", "payload", "reason"), REJECTIONS)
def test_decode_rejects(topic: str, payload: bytes, reason: str) -> None:
    error = reject(topic, payload)
    assert error.reason == reason
    assert error.detail
    assert str(error).startswith(f"{reason}: ")


def test_rejection_detail_does_not_echo_the_credential() -> None:
    error = reject(*variant("telemetry_camera", ("data.cameras.1.error", LEAK)))
    assert "secret" not in error.detail
    assert "admin" not in error.detail


# --------------------------------------------------------------------------- edge cases


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("telemetry_power", "data.mains_present"),
        ("telemetry_network", "data.interface"),
        ("telemetry_display", "data.screen_on"),
    ],
)
def test_round_trip_with_null_required_field(name: str, path: str) -> None:
    topic, payload = variant(name, (path, None))
    first = decode(topic, payload)
    assert decode(topic, encode(first)) == first


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("event_mains_lost", "data.details.url"),
        ("telemetry_network", "data.target"),
        ("config_reported", "data.config.camera_url"),
        ("cmd_result", "data.output.stream"),
        ("telemetry_display", "data.content_id"),
    ],
)
def test_credential_url_rejected_everywhere(name: str, path: str) -> None:
    assert reject(*variant(name, (path, LEAK))).reason == "credential_leak"


@pytest.mark.parametrize("url", ["rtsp://admin:pa/ss@10.0.0.5/s", "RTSP://a:b@c"])
def test_credential_variants_rejected(url: str) -> None:
    assert reject(*variant("event_mains_lost", ("data.details.url", url))).reason == (
        "credential_leak"
    )


def test_json_escaped_slashes_do_not_hide_a_credential() -> None:
    topic, payload = variant("event_mains_lost", ("data.details.url", LEAK))
    escaped = payload.replace(b"rtsp://", b"rtsp:\\/\\/")
    assert b"\\/" in escaped
    assert reject(topic, escaped).reason == "credential_leak"


@pytest.mark.parametrize(
    ("plain", "escaped"),
    [
        (b"rtsp://", b"rtsp:\\u002f\\u002f"),
        (b"rtsp://", b"rtsp:\\u002F/"),
        (b"@", b"\\u0040"),
    ],
)
@pytest.mark.parametrize(
    ("name", "path"),
    [("event_mains_lost", "data.details.url"), ("config_reported", "data.config.camera_url")],
)
def test_unicode_escapes_do_not_hide_a_credential(
    plain: bytes, escaped: bytes, name: str, path: str
) -> None:
    topic, payload = variant(name, (path, LEAK))
    hidden = payload.replace(plain, escaped)
    assert hidden != payload
    assert reject(topic, hidden).reason == "credential_leak"


def test_encode_refuses_to_publish_a_credential() -> None:
    _topic, payload = variant("event_mains_lost", ("data.details.url", LEAK))
    message = EventMessage.model_validate_json(payload)
    with pytest.raises(ProtocolError) as info:
        encode(message)
    assert info.value.reason == "credential_leak"


def test_size_limit_counts_bytes_of_str_payload() -> None:
    topic, payload = variant("event_mains_lost", ("data.message", "ả" * 400))
    text = payload.decode()
    assert len(text) < len(payload)
    assert reject(topic, text, max_bytes=len(text)).reason == "oversize"


# --------------------------------------------------------------------------- clock window

RECEIVED = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
PAST = timedelta(seconds=DEFAULT_CLOCK_PAST_S)
FUTURE = timedelta(seconds=DEFAULT_CLOCK_FUTURE_S)


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def test_clock_window_defaults() -> None:
    assert DEFAULT_CLOCK_PAST_S == 400 * 86_400
    assert DEFAULT_CLOCK_FUTURE_S == 86_400


@pytest.mark.parametrize("field", ["measured_at", "sent_at"])
def test_clock_window_bounds_are_accepted(field: str) -> None:
    for moment in (RECEIVED - PAST, RECEIVED + FUTURE, RECEIVED):
        decode(*variant("telemetry_heartbeat", (field, _at(moment))), received_at=RECEIVED)


@pytest.mark.parametrize("field", ["measured_at", "sent_at"])
def test_clock_before_the_window_refused(field: str) -> None:
    moment = RECEIVED - PAST - timedelta(seconds=1)
    error = reject(*variant("telemetry_heartbeat", (field, _at(moment))), received_at=RECEIVED)
    assert error.reason == "clock_out_of_range"
    assert error.detail.startswith(
        f"{field} {_at(moment)} is 34560001 s before the receiving time;"
    )


@pytest.mark.parametrize("field", ["measured_at", "sent_at"])
def test_clock_after_the_window_refused(field: str) -> None:
    moment = RECEIVED + FUTURE + timedelta(seconds=1)
    error = reject(*variant("telemetry_heartbeat", (field, _at(moment))), received_at=RECEIVED)
    assert error.reason == "clock_out_of_range"
    assert error.detail.startswith(f"{field} {_at(moment)} is 86401 s after the receiving time;")


def test_clock_window_is_configurable() -> None:
    topic, payload = variant("telemetry_heartbeat")  # measured and sent at 00:59:10Z
    window = {"received_at": RECEIVED, "past_s": 49.0, "future_s": 5.0}
    assert reject(topic, payload, **window).reason == "clock_out_of_range"
    decode(topic, payload, received_at=RECEIVED, past_s=50.0, future_s=0.0)
    early = RECEIVED - timedelta(seconds=60)
    error = reject(topic, payload, received_at=early, past_s=0.0, future_s=5.0)
    assert "measured_at 2026-03-02T00:59:10Z is 10 s after" in error.detail


def test_content_started_at_respects_the_clock_window() -> None:
    old = _at(RECEIVED - PAST - timedelta(days=1))
    topic, payload = variant("telemetry_display", ("data.content_started_at", old))
    decode(topic, payload)  # no receiving time, no window
    error = reject(topic, payload, received_at=RECEIVED)
    assert error.reason == "clock_out_of_range"
    assert error.detail.startswith("data.content_started_at ")


def test_a_replay_within_the_window_is_accepted() -> None:
    month_old = _at(RECEIVED - timedelta(days=30))
    decode(*variant("telemetry_power", ("measured_at", month_old)), received_at=RECEIVED)


def test_board_clock_never_set_passes_the_model_but_not_the_window() -> None:
    topic, payload = variant("state_online", ("measured_at", "1970-01-01T00:00:42Z"))
    decode(topic, payload)
    assert reject(topic, payload, received_at=RECEIVED).reason == "clock_out_of_range"


@pytest.mark.parametrize("name", ["cmd_restart_player", "config_desired", "receipt"])
def test_server_messages_have_no_clock_window(name: str) -> None:
    decode(*variant(name), received_at=RECEIVED + timedelta(days=4000))


def test_other_checks_come_before_the_clock() -> None:
    late = _at(RECEIVED + timedelta(days=30))
    topic, payload = variant("telemetry_heartbeat", ("measured_at", late), ("device_id", "lc-x"))
    assert reject(topic, payload, received_at=RECEIVED).reason == "device_mismatch"


def test_received_at_must_carry_a_timezone() -> None:
    with pytest.raises(ValueError, match="timezone"):
        decode(*variant("telemetry_heartbeat"), received_at=datetime(2026, 3, 2, 1, 0))
