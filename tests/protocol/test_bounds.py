"""Strict bounds (issue 13): no value PostgreSQL refuses gets through ``decode``,
and the agent cannot build a model holding one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

import fleet_protocol as fp
from fleet_protocol.bounds import (
    INT32_MAX,
    INT64_MAX,
    MAX_DELAY_MS,
    MAX_JSON_DEPTH,
    MAX_RUNTIME_S,
    MAX_UPTIME_S,
)
from fleet_protocol.messages import MAX_BOOT, MAX_CONFIG_VERSION, MAX_SEQ
from tests.protocol.payloads import NAMES, changed, fixture, reject, variant

HB = "telemetry_heartbeat"
NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)


def ascii_variant(name: str, *changes: tuple[str, Any]) -> tuple[str, bytes]:
    """Like ``variant`` but JSON-escaping everything non-ASCII, so a lone
    surrogate becomes ``\\ud800`` and NaN the bare ``NaN`` token."""
    fx = fixture(name)
    return fx["topic"], json.dumps(changed(fx["payload"], *changes)).encode()


def raw_variant(name: str, path: str, token: bytes) -> tuple[str, bytes]:
    """A fixture with the JSON text at ``path`` replaced by ``token`` verbatim."""
    topic, payload = ascii_variant(name, (path, "@@token@@"))
    return topic, payload.replace(b'"@@token@@"', token)


def invalid(topic: str, payload: bytes | str, where: str) -> fp.ProtocolError:
    error = reject(topic, payload)
    assert error.reason == "invalid_payload", error
    assert where in error.detail
    return error


# --------------------------------------------------------------------------- text

PLAIN_TEXT_FIELDS = [
    (HB, "data.agent_version"),
    ("state_online", "data.agent_version"),
    ("telemetry_power", "data.ups_status"),
    ("telemetry_network", "data.interface"),
    ("telemetry_network", "data.target"),
    ("telemetry_network", "data.lte.operator"),
    ("telemetry_network", "data.lte.access_tech"),
    ("telemetry_display", "data.content_id"),
]
FREE_TEXT_FIELDS = [
    ("state_lost", "data.reason"),
    ("event_mains_lost", "data.message"),
    ("event_mains_lost", "data.details.ups_status"),
    ("telemetry_camera", "data.cameras.1.error"),
    ("cmd_result", "data.error"),
    ("config_reported", "data.error"),
    ("cmd_result", "data.output.note"),
    ("config_reported", "data.config.log_level"),
    ("config_desired", "config.spool.delivery"),
    ("cmd_restart_player", "args.reason"),
]
NEVER = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f"]
FREE_ONLY = ["\t", "\n", "\r"]


def _short(text: str) -> str:
    return text.encode("unicode_escape").decode()


@pytest.mark.parametrize("char", NEVER + FREE_ONLY, ids=_short)
@pytest.mark.parametrize(("name", "path"), PLAIN_TEXT_FIELDS)
def test_control_characters_refused_in_short_texts(name: str, path: str, char: str) -> None:
    error = invalid(*variant(name, (path, f"v{char}1")), path.rsplit(".", maxsplit=1)[-1])
    assert f"U+{ord(char):04X}" in error.detail


@pytest.mark.parametrize("char", NEVER, ids=_short)
@pytest.mark.parametrize(("name", "path"), FREE_TEXT_FIELDS)
def test_control_characters_refused_in_free_texts(name: str, path: str, char: str) -> None:
    error = invalid(*variant(name, (path, f"line{char}1")), path.split(".")[1])
    assert f"U+{ord(char):04X}" in error.detail


@pytest.mark.parametrize(("name", "path"), FREE_TEXT_FIELDS)
def test_free_texts_keep_tab_and_line_breaks(name: str, path: str) -> None:
    topic, payload = variant(name, (path, "first line\r\n\tsecond line"))
    message = fp.decode(topic, payload)
    wire = fp.encode(message)
    assert b"line\\r\\n\\tsecond" in wire
    assert fp.decode(topic, wire) == message


@pytest.mark.parametrize(
    ("name", "container"),
    [
        ("config_reported", "data.config"),
        ("config_desired", "config"),
        ("cmd_restart_player", "args"),
        ("cmd_result", "data.output"),
        ("event_mains_lost", "data.details"),
    ],
)
@pytest.mark.parametrize("char", ["\x00", "\x01", "\n", "\x7f"], ids=_short)
def test_control_characters_refused_in_object_keys(name: str, container: str, char: str) -> None:
    topic, payload = variant(name, (f"{container}.bad{char}key", 1))
    error = reject(topic, payload)
    assert error.reason == "invalid_payload"
    assert "\x00" not in error.detail  # the key is part of the location: never echoed raw
    assert char not in error.detail


@pytest.mark.parametrize(
    ("name", "container"),
    [
        ("config_reported", "data.config"),
        ("config_desired", "config"),
        ("cmd_restart_player", "args"),
        ("cmd_result", "data.output"),
    ],
)
def test_control_characters_refused_in_nested_keys_and_values(name: str, container: str) -> None:
    nested_key = {"outer": [{"fine": 1, "bad\x01key": 2}]}
    error = invalid(*variant(name, (f"{container}.deep", nested_key)), "a key in deep.outer.0")
    assert "U+0001" in error.detail
    nested_value = {"outer": [{"fine": "topsecret\x00"}]}
    error = invalid(*variant(name, (f"{container}.deep", nested_value)), "deep.outer.0.fine")
    assert "U+0000" in error.detail
    assert "topsecret" not in error.detail


def test_nul_escape_in_agent_version_refused() -> None:
    """The ``\\u0000`` escape is valid JSON; PostgreSQL text would refuse it."""
    topic, payload = ascii_variant(HB, ("data.agent_version", "0.1\x00"))
    assert b"\\u0000" in payload
    error = invalid(topic, payload, "data.agent_version")
    assert "U+0000" in error.detail


@pytest.mark.parametrize(
    "surrogate", [chr(c) for c in (0xD800, 0xDBFF, 0xDC00, 0xDFFF)], ids=_short
)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        (HB, "data.agent_version"),
        ("event_mains_lost", "data.message"),
        ("config_reported", "data.config.log_level"),
        ("cmd_result", "data.output.note"),
        ("event_mains_lost", "data.details.ups_status"),
    ],
)
def test_lone_surrogate_escape_refused(name: str, path: str, surrogate: str) -> None:
    """pydantic-core's JSON reader refuses ``"\\ud800"`` itself."""
    topic, payload = ascii_variant(name, (path, f"x{surrogate}y"))
    assert b"\\ud" in payload
    assert reject(topic, payload).reason == "bad_json"


def test_lone_surrogate_key_escape_refused() -> None:
    topic, payload = ascii_variant("config_reported", ("data.config.k\udc00", 1))
    assert reject(topic, payload).reason == "bad_json"


def test_lone_surrogate_in_str_payload_refused() -> None:
    """A str payload holding a surrogate cannot be UTF-8 (no UnicodeEncodeError escapes)."""
    topic, payload = variant(HB)
    text = payload.decode().replace('"0.1.0"', '"0.1\ud800"')
    assert "\ud800" in text
    error = reject(topic, text)
    assert error.reason == "bad_json"
    assert "UTF-8" in error.detail


def test_surrogate_pair_is_one_character_and_accepted() -> None:
    topic, payload = ascii_variant("event_mains_lost", ("data.message", "UPS \U0001f50b"))
    assert b"\\ud83d\\udd0b" in payload
    message = fp.decode(topic, payload)
    assert isinstance(message, fp.EventMessage)
    assert message.data.message == "UPS \U0001f50b"


@pytest.mark.parametrize(
    ("name", "path"),
    [
        (HB, "device_id"),
        ("cmd_restart_player", "request_id"),
        ("cmd_restart_player", "command"),
        ("event_mains_lost", "data.type"),
        ("telemetry_camera", "data.cameras.0.camera_id"),
        ("telemetry_display", "data.content_language"),
        ("telemetry_display", "data.content_sha256"),
    ],
)
def test_trailing_newline_refused_in_patterned_fields(name: str, path: str) -> None:
    fx = fixture(name)
    value = fx["payload"]
    for key in path.split("."):
        value = value[int(key)] if isinstance(value, list) else value[key]
    assert reject(*variant(name, (path, f"{value}\n"))).reason == "invalid_payload"


def _string_mutations(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a string value or an object key in a payload."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, ("key", key))
            yield from _string_mutations(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _string_mutations(value, (*path, index))
    elif isinstance(node, str):
        yield path


def _inject(payload: Any, path: tuple[Any, ...], char: str) -> Any:
    payload = json.loads(json.dumps(payload))
    node = payload
    for step in path[:-1]:
        node = node[step]
    last = path[-1]
    if isinstance(last, tuple):  # rename a key
        node[last[1] + char] = node.pop(last[1])
    else:
        node[last] += char
    return payload


EXTRA_TEXTS = {  # optional texts the fixtures leave out
    "cmd_result": [("data.error", "partly done")],
    "config_reported": [("data.error", "display section ignored")],
}


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\ud800"], ids=_short)
@pytest.mark.parametrize("name", NAMES)
def test_every_string_of_every_message_refuses_control_characters(name: str, char: str) -> None:
    fx = fixture(name)
    base = changed(fx["payload"], *EXTRA_TEXTS.get(name, []))
    paths = list(_string_mutations(base))
    assert paths
    for path in paths:
        payload = json.dumps(_inject(base, path, char)).encode()
        error = reject(fx["topic"], payload)
        assert error.reason in {"invalid_payload", "bad_json", "unsupported_schema"}, path


# --------------------------------------------------------------------------- integers

INT_BOUNDS = [
    # fixture, path, lowest, highest
    (HB, "boot", 1, MAX_BOOT),
    (HB, "seq", 0, MAX_SEQ),
    (HB, "data.uptime_s", 0, MAX_UPTIME_S),
    (HB, "data.spool_pending", 0, INT32_MAX),
    (HB, "data.spool_dropped", 0, INT32_MAX),
    ("state_online", "data.heartbeat_interval_s", 1, 86_400),
    ("telemetry_power", "data.runtime_s", 0, MAX_RUNTIME_S),
    ("telemetry_network", "data.rx_bytes", 0, INT64_MAX),
    ("telemetry_network", "data.tx_bytes", 0, INT64_MAX),
    ("config_reported", "data.version", 0, MAX_CONFIG_VERSION),
    ("config_desired", "version", 0, MAX_CONFIG_VERSION),
    ("receipt", "boot", 1, MAX_BOOT),
    ("receipt", "ranges.1.1", 61, MAX_SEQ),
    ("cmd_result", "boot", 1, MAX_BOOT),
]


def _int_id(case: tuple[str, str, int, int]) -> str:
    return f"{case[0]}:{case[1]}"


@pytest.mark.parametrize("case", INT_BOUNDS, ids=_int_id)
def test_integer_bounds_accepted(case: tuple[str, str, int, int]) -> None:
    name, path, lowest, highest = case
    fp.decode(*variant(name, (path, lowest)))
    fp.decode(*variant(name, (path, highest)))


@pytest.mark.parametrize("case", INT_BOUNDS, ids=_int_id)
def test_integer_past_its_bound_refused(case: tuple[str, str, int, int]) -> None:
    name, path, lowest, highest = case
    for value in {highest + 1, 2**63, 10**30, lowest - 1, -(2**63)}:
        error = reject(*variant(name, (path, value)))
        assert error.reason == "invalid_payload", value
        assert path.split(".")[-1] in error.detail or path.split(".")[0] in error.detail


def test_documented_integer_bounds() -> None:
    assert INT32_MAX == MAX_BOOT == MAX_CONFIG_VERSION == 2_147_483_647
    assert INT64_MAX == MAX_SEQ == 9_223_372_036_854_775_807
    assert MAX_UPTIME_S == 316_224_000  # 3,660 days
    assert MAX_RUNTIME_S == 31_536_000  # 365 days
    assert MAX_DELAY_MS == 600_000


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("config_reported", "data.config.counter"),
        ("config_reported", "data.config.intervals.camera"),
        ("config_desired", "config.intervals.power"),
        ("cmd_restart_player", "args.delay_s"),
        ("cmd_result", "data.output.restart_s"),
        ("event_mains_lost", "data.details.battery_percent"),
    ],
)
def test_integers_inside_json_values_are_signed_64_bit(name: str, path: str) -> None:
    fp.decode(*variant(name, (path, INT64_MAX)))
    fp.decode(*variant(name, (path, -INT64_MAX)))
    for value in (INT64_MAX + 1, -INT64_MAX - 1, 10**40):
        error = reject(*variant(name, (path, value)))
        assert error.reason == "invalid_payload"
        assert "2^63" in error.detail


def test_receipt_range_must_not_end_before_it_starts() -> None:
    error = reject(*variant("receipt", ("ranges.0", [6, 0])))
    assert error.reason == "invalid_payload"
    assert "ranges.0" in error.detail
    fp.decode(*variant("receipt", ("ranges.0", [6, 6])))


def test_json_nesting_is_bounded() -> None:
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH - 1):
        deep = [deep]
    fp.decode(*variant("config_reported", ("data.config.deep", deep)))
    error = invalid(*variant("config_reported", ("data.config.deep", [deep])), "data.config")
    assert "deeper than 32" in error.detail


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        (HB, "boot", 12.0),
        (HB, "seq", True),
        (HB, "data.uptime_s", 1.5),
        (HB, "data.uptime_s", "263455"),
        (HB, "data.spool_pending", False),
        ("config_reported", "data.version", 7.0),
        ("config_reported", "data.applied", 1),
        ("telemetry_power", "data.low_battery", 0),
        ("telemetry_power", "data.mains_present", "false"),
        (HB, "replay", 0),
        (HB, "data.spool_degraded", 1),
        (HB, "data.cpu_percent", True),
        ("receipt", "ranges.0.0", 0.0),
    ],
)
def test_no_coercion_between_int_float_bool_and_string(name: str, path: str, value: Any) -> None:
    assert reject(*variant(name, (path, value))).reason == "invalid_payload"


# --------------------------------------------------------------------------- floats

FLOAT_FIELDS = [
    (HB, "data.cpu_percent"),
    (HB, "data.temperature_c"),
    ("telemetry_power", "data.input_voltage_v"),
    ("telemetry_network", "data.rtt_ms"),
    ("telemetry_network", "data.lte.sinr_db"),
    ("telemetry_camera", "data.cameras.0.latency_ms"),
    ("event_mains_lost", "data.details.input_voltage_v"),
    ("cmd_result", "data.output.restart_s"),
    ("config_reported", "data.config.intervals.power"),
    ("config_desired", "config.intervals.heartbeat"),
    ("cmd_restart_player", "args.delay_s"),
]


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"])
@pytest.mark.parametrize(("name", "path"), FLOAT_FIELDS)
def test_nan_and_infinity_refused(name: str, path: str, token: bytes) -> None:
    """pydantic-core's JSON reader accepts these tokens (and reads 1e400 as inf)."""
    error = reject(*raw_variant(name, path, token))
    assert error.reason == "invalid_payload"
    assert "finite" in error.detail


@pytest.mark.parametrize(
    ("name", "path"),
    [("telemetry_network", "data.rtt_ms"), ("telemetry_camera", "data.cameras.0.latency_ms")],
)
def test_delays_bounded_to_ten_minutes(name: str, path: str) -> None:
    fp.decode(*variant(name, (path, 600_000)))
    fp.decode(*variant(name, (path, 0)))
    assert reject(*variant(name, (path, 600_000.5))).reason == "invalid_payload"
    assert reject(*variant(name, (path, 1e39))).reason == "invalid_payload"


# --------------------------------------------------------------------------- schema version


@pytest.mark.parametrize(
    "name", ["telemetry_heartbeat", "cmd_restart_player", "config_desired", "receipt"]
)
@pytest.mark.parametrize("value", [1.0, True, "1", None, 2, 0], ids=repr)
def test_schema_version_is_only_the_integer_1(name: str, value: Any) -> None:
    error = reject(*variant(name, ("schema_version", value)))
    assert error.reason == "unsupported_schema"
    assert "schema_version" in error.detail


def test_schema_version_1_0_refused_verbatim() -> None:
    topic, payload = variant(HB)
    payload = payload.replace(b'"schema_version": 1,', b'"schema_version": 1.0,')
    assert b"1.0" in payload
    assert reject(topic, payload).reason == "unsupported_schema"


# --------------------------------------------------------------------------- times

TIME_FIELDS = [
    (HB, "measured_at"),
    (HB, "sent_at"),
    ("telemetry_display", "data.content_started_at"),
    ("cmd_restart_player", "issued_at"),
    ("cmd_restart_player", "expires_at"),
    ("config_desired", "issued_at"),
    ("receipt", "committed_at"),
]
BAD_TIMES = [
    "1700000000",  # pydantic alone reads it as epoch seconds
    "1700000000.5",
    1700000000,
    1700000000.5,
    True,
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+07:00",  # astimezone() would overflow
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-07:00",
    "1969-12-31T23:59:59Z",
    "1970-01-01T06:59:59+07:00",  # 1969 in UTC
    "2100-01-01T00:00:00Z",
    "2026-03-02 00:59:10Z",
    "2026-03-02_00:59:10Z",
    "2026-03-02T00:59Z",
    "2026-03-02T00:59:10",
    "2026-03-02",
    "2026-03-02T00:59:10+0700",
    "2026-03-02T00:59:10.Z",
    "2026-03-02T00:59:10.1234567890Z",
    "2026-02-30T00:59:10Z",
    "2026-03-02T24:00:00Z",
    "2026-03-02T00:59:60Z",
    "2026-03-02T00:59:10+24:00",
    "２０２６-03-02T00:59:10Z",  # full-width digits
    "2026-03-02T00:59:10Z\n",
    " 2026-03-02T00:59:10Z",
    "",
]
GOOD_TIMES = [
    ("2026-03-02T00:59:10Z", datetime(2026, 3, 2, 0, 59, 10, tzinfo=UTC)),
    ("2026-03-02t00:59:10z", datetime(2026, 3, 2, 0, 59, 10, tzinfo=UTC)),
    ("2026-03-02T07:59:10+07:00", datetime(2026, 3, 2, 0, 59, 10, tzinfo=UTC)),
    ("2026-03-02T00:59:10-00:00", datetime(2026, 3, 2, 0, 59, 10, tzinfo=UTC)),
    ("2026-03-02T00:59:10.123456789Z", datetime(2026, 3, 2, 0, 59, 10, 123456, tzinfo=UTC)),
    ("1970-01-01T00:00:00Z", datetime(1970, 1, 1, tzinfo=UTC)),
    ("1970-01-01T07:00:00+07:00", datetime(1970, 1, 1, tzinfo=UTC)),
    ("2099-12-31T23:59:59.999999Z", datetime(2099, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)),
]


@pytest.mark.parametrize("value", BAD_TIMES, ids=repr)
@pytest.mark.parametrize(("name", "path"), TIME_FIELDS)
def test_times_only_from_rfc3339_strings_in_range(name: str, path: str, value: Any) -> None:
    error = reject(*variant(name, (path, value)))
    assert error.reason == "invalid_payload", error
    assert path.rsplit(".", maxsplit=1)[-1] in error.detail


@pytest.mark.parametrize(("value", "expected"), GOOD_TIMES, ids=[v for v, _ in GOOD_TIMES])
@pytest.mark.parametrize(("name", "path"), TIME_FIELDS)
def test_rfc3339_times_accepted(name: str, path: str, value: str, expected: datetime) -> None:
    changes = [(path, value)]
    if name == "cmd_restart_player":  # keep issued_at ≤ expires_at meaningful, not checked
        changes.append(("issued_at" if path == "expires_at" else "expires_at", value))
    message = fp.decode(*variant(name, *changes))
    got: Any = message
    for key in path.split("."):
        got = getattr(got, key)
    assert got == expected
    assert got.tzinfo is UTC


# --------------------------------------------------------------------------- the agent side


def _heartbeat(**changes: Any) -> fp.HeartbeatData:
    fields: dict[str, Any] = {
        "uptime_s": 10,
        "agent_version": "0.1.0",
        "cpu_percent": 1.0,
        "memory_percent": 2.0,
        "disk_percent": 3.0,
    }
    return fp.HeartbeatData(**{**fields, **changes})


def _message(data: fp.HeartbeatData, **changes: Any) -> fp.HeartbeatMessage:
    fields: dict[str, Any] = {
        "schema_version": 1,
        "device_id": "lc-mlt-01",
        "boot": 1,
        "seq": 0,
        "measured_at": NOW,
        "sent_at": NOW,
    }
    return fp.HeartbeatMessage(**{**fields, **changes}, data=data)


@pytest.mark.parametrize(
    "changes",
    [
        {"agent_version": "0.1\x00"},
        {"agent_version": "0.1\ud800"},
        {"agent_version": "0.1\n"},
        {"uptime_s": MAX_UPTIME_S + 1},
        {"uptime_s": True},
        {"spool_pending": 2**31},
        {"spool_degraded": 1},
        {"cpu_percent": float("nan")},
        {"temperature_c": float("inf")},
    ],
    ids=repr,
)
def test_agent_cannot_build_a_heartbeat_ingest_would_refuse(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _heartbeat(**changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"schema_version": True},
        {"schema_version": 1.0},
        {"boot": 2**31},
        {"seq": 2**63},
        {"measured_at": datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=7)))},
        {"measured_at": datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-7)))},
        {"sent_at": datetime(2026, 3, 2, 1, 0)},  # naive
        {"sent_at": 1_772_413_150},
        {"sent_at": "1772413150"},
    ],
    ids=repr,
)
def test_agent_cannot_build_an_envelope_ingest_would_refuse(changes: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        _message(_heartbeat(), **changes)


@pytest.mark.parametrize(
    "config",
    [
        {"a": {"b\x00": 1}},
        {"a": ["ok", "x\x1b[31m"]},
        {"a": "\ud800"},
        {"a": [float("nan")]},
        {"a": 2**63},
        {"bad\x00": 1},
    ],
    ids=repr,
)
def test_agent_cannot_build_json_values_ingest_would_refuse(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        fp.ConfigReportedData(version=1, applied=True, config=config)
    with pytest.raises(ValidationError):
        fp.CommandResultData(request_id="r-1", command="ping", status="ok", output=config)
    with pytest.raises(ValidationError):
        fp.CommandRequest(
            schema_version=1,
            device_id="lc-mlt-01",
            request_id="r-1",
            command="ping",
            issued_at=NOW,
            args=config,
        )


def test_agent_event_details_are_checked() -> None:
    with pytest.raises(ValidationError):
        fp.EventData(type="x", message="m", details={"k": "v\x00"})
    with pytest.raises(ValidationError):
        fp.EventData(type="x", message="m", details={"k": float("inf")})
    with pytest.raises(ValidationError):
        fp.EventData(type="x", message="m", details={"k": -(2**63)})
    event = fp.EventData(type="x", message="two\nlines", details={"error": "a\tb"})
    assert event.message == "two\nlines"


def test_encode_refuses_values_slipped_in_without_validation() -> None:
    """``model_copy(update=...)`` skips validation; ``encode`` catches it."""
    message = _message(_heartbeat())
    for bad in ("0.1\x00", "0.1\ud800"):
        data = message.data.model_copy(update={"agent_version": bad})
        with pytest.raises(fp.ProtocolError) as info:
            fp.encode(message.model_copy(update={"data": data}))
        assert info.value.reason == "invalid_payload"
        assert "\x00" not in str(info.value)
    with pytest.raises(fp.ProtocolError):
        fp.encode(message.model_copy(update={"seq": 2**63}))


def test_printable_replaces_what_the_protocol_refuses() -> None:
    text = "cam\x00 said\x1b[0m \ud800 ok\tline\n"
    assert fp.printable(text) == "cam\ufffd said\ufffd[0m \ufffd ok\ufffdline\ufffd"
    assert fp.printable(text, free=True) == "cam\ufffd said\ufffd[0m \ufffd ok\tline\n"
    data = _heartbeat(agent_version=fp.printable("0.1\x00"))
    assert data.agent_version == "0.1\ufffd"
