"""Topic builders and ``parse_topic``: every channel, every rejection."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from fleet_protocol import (
    Channel,
    ProtocolError,
    TelemetryKind,
    Topic,
    command_result_topic,
    command_topic,
    config_desired_topic,
    config_reported_topic,
    event_topic,
    is_device_id,
    parse_topic,
    receipt_topic,
    state_topic,
    subscription_filters,
    telemetry_topic,
)

DEVICE = "lc-mlt-01"

BUILT = [
    pytest.param(state_topic(DEVICE), Channel.STATE, None, id="state"),
    *(
        pytest.param(telemetry_topic(DEVICE, kind), Channel.TELEMETRY, kind.value, id=kind.value)
        for kind in TelemetryKind
    ),
    pytest.param(event_topic(DEVICE, "mains_lost"), Channel.EVENT, "mains_lost", id="event"),
    pytest.param(command_topic(DEVICE, "restart_player"), Channel.CMD, "restart_player", id="cmd"),
    pytest.param(command_result_topic(DEVICE), Channel.CMD_RESULT, None, id="cmd_result"),
    pytest.param(config_desired_topic(DEVICE), Channel.CONFIG_DESIRED, None, id="desired"),
    pytest.param(config_reported_topic(DEVICE), Channel.CONFIG_REPORTED, None, id="reported"),
    pytest.param(receipt_topic(DEVICE), Channel.RECEIPT, None, id="receipt"),
]


@pytest.mark.parametrize(("topic", "channel", "name"), BUILT)
def test_builders_and_parse_agree(topic: str, channel: Channel, name: str | None) -> None:
    tail = channel.value if name is None else f"{channel.value}/{name}"
    assert topic == f"fleet/v1/{DEVICE}/{tail}"
    parsed = parse_topic(topic)
    assert parsed == Topic(DEVICE, channel, name)
    assert str(parsed) == topic


def test_telemetry_topic_accepts_enum_and_string() -> None:
    assert telemetry_topic(DEVICE, "power") == telemetry_topic(DEVICE, TelemetryKind.POWER)


def test_subscription_filters_cover_every_board_topic() -> None:
    filters = subscription_filters()
    assert filters == [
        "fleet/v1/+/state",
        "fleet/v1/+/telemetry/+",
        "fleet/v1/+/event/+",
        "fleet/v1/+/cmd_result",
        "fleet/v1/+/config/reported",
        "fleet/v1/+/snapshot",
        "fleet/v1/+/logs",
        "fleet/v1/+/batch",
    ]
    assert not any("/cmd/" in f or f.endswith("desired") for f in filters)


@pytest.mark.parametrize(
    ("device_id", "valid"),
    [
        ("lc-mlt-01", True),
        ("LC_SinHo_2", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("-lc", False),
        ("+", False),
        ("#", False),
        ("lc/mlt", False),
        ("lc mlt", False),
        ("lc.mlt.01", False),
        ("lc-mường-tè", False),
        ("lc-mlt-01\n", False),  # a regex "$" alone would accept it
        ("lc-mlt-01\x00", False),
    ],
)
def test_is_device_id(device_id: str, valid: bool) -> None:
    assert is_device_id(device_id) is valid


@pytest.mark.parametrize(
    ("topic", "reason"),
    [
        pytest.param("fleet/v2/lc-mlt-01/state", "bad_topic", id="wrong-version"),
        pytest.param("board/v1/lc-mlt-01/state", "bad_topic", id="wrong-root"),
        pytest.param("/fleet/v1/lc-mlt-01/state", "bad_topic", id="leading-slash"),
        pytest.param("fleet/v1/lc-mlt-01", "bad_topic", id="too-few-levels"),
        pytest.param("fleet/v1/lc-mlt-01/", "bad_topic", id="empty-channel"),
        pytest.param("fleet/v1/lc-mlt-01/telemetry", "bad_topic", id="telemetry-without-kind"),
        pytest.param("fleet/v1/lc-mlt-01/state/extra", "bad_topic", id="state-too-many"),
        pytest.param("fleet/v1/lc-mlt-01/telemetry/power/x", "bad_topic", id="telemetry-too-many"),
        pytest.param("fleet/v1/lc-mlt-01/telemetry/gps", "bad_topic", id="unknown-kind"),
        pytest.param("fleet/v1/lc-mlt-01/telemetry/+", "bad_topic", id="kind-wildcard"),
        pytest.param("fleet/v1/lc-mlt-01/event/Mains-Lost", "bad_topic", id="bad-event-type"),
        pytest.param("fleet/v1/lc-mlt-01/cmd/#", "bad_topic", id="bad-command-name"),
        pytest.param("fleet/v1/lc-mlt-01/config/applied", "bad_topic", id="unknown-config"),
        pytest.param("fleet/v1/lc-mlt-01/status", "bad_topic", id="unknown-channel"),
        pytest.param("fleet/v1/+/state", "bad_device_id", id="device-plus"),
        pytest.param("fleet/v1/#/state", "bad_device_id", id="device-hash"),
        pytest.param("fleet/v1//state", "bad_device_id", id="device-empty"),
        pytest.param("fleet/v1/lc mlt 01/state", "bad_device_id", id="device-space"),
        pytest.param("fleet/v1/lc.mlt.01/state", "bad_device_id", id="device-dot"),
        pytest.param("fleet/v1/lc-mlt-01$/state", "bad_device_id", id="device-dollar"),
        pytest.param(f"fleet/v1/{'a' * 65}/state", "bad_device_id", id="device-too-long"),
        pytest.param("fleet/v1/lc-mlt-01\n/state", "bad_device_id", id="device-newline"),
        pytest.param("fleet/v1/lc-mlt-01/event/mains_lost\n", "bad_topic", id="event-newline"),
        pytest.param("fleet/v1/lc-mlt-01/cmd/reboot\n", "bad_topic", id="command-newline"),
    ],
)
def test_parse_topic_rejects(topic: str, reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_topic(topic)
    assert info.value.reason == reason


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        pytest.param(lambda: state_topic("lc+mlt"), "bad_device_id", id="state"),
        pytest.param(lambda: telemetry_topic("#", "power"), "bad_device_id", id="telemetry"),
        pytest.param(lambda: command_result_topic("a" * 65), "bad_device_id", id="cmd_result"),
        pytest.param(lambda: config_desired_topic("lc/mlt"), "bad_device_id", id="desired"),
        pytest.param(lambda: config_reported_topic(""), "bad_device_id", id="reported"),
        pytest.param(lambda: event_topic(DEVICE, "Mains Lost"), "bad_topic", id="event-name"),
        pytest.param(lambda: command_topic(DEVICE, "reboot/now"), "bad_topic", id="cmd-name"),
        pytest.param(lambda: command_topic("+", "reboot"), "bad_device_id", id="cmd-device"),
        pytest.param(lambda: receipt_topic("lc-mlt-01\n"), "bad_device_id", id="receipt"),
        pytest.param(lambda: event_topic(DEVICE, "mains_lost\n"), "bad_topic", id="event-newline"),
    ],
)
def test_builders_reject(build: Callable[[], str], reason: str) -> None:
    with pytest.raises(ProtocolError) as info:
        build()
    assert info.value.reason == reason


def test_telemetry_topic_rejects_unknown_kind() -> None:
    with pytest.raises(ProtocolError, match="gps") as info:
        telemetry_topic(DEVICE, "gps")
    assert info.value.reason == "bad_topic"
