"""The allow-list of settings a server may change: how a change is read as paths."""

from __future__ import annotations

from typing import Any

import pytest

import fleet_protocol as fp


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"intervals": {"heartbeat": 15, "power": 30}, "log_level": "DEBUG"}, []),
        ({"spool": {"delivery": "puback", "reserve_bytes": 0}}, []),
        # a mapping-valued setting is set whole: its keys are data
        ({"proof": {"camera_references": {"gate": "0123456789abcdef"}}}, []),
        ({"proof": {"screen_references": {"ab" * 32: ["0123456789abcdef"]}}}, []),
        ({"display": {"player_unit": "poweroff.target"}}, ["display.player_unit"]),
        (
            {"display": {"status_url": "http://10.0.0.1/", "status_file": "/etc/shadow"}},
            ["display.status_file", "display.status_url"],
        ),
        (
            {"intervals": {"heartbeat": 15}, "mqtt_url": "mqtt://elsewhere:1883"},
            ["mqtt_url"],
        ),
        ({"network": {"targets": ["10.0.0.1:22"]}}, ["network.targets"]),
        ({"allow_reboot": True}, ["allow_reboot"]),
        ({"cameras": [{"id": "c", "host": "10.0.0.9"}]}, ["cameras"]),
        # A whole section is not each key inside it.
        ({"intervals": 5}, ["intervals"]),
        ({"spool": {}}, ["spool"]),
        # One key with a dot is not the nested key.
        ({"intervals.heartbeat": 5}, ["intervals.heartbeat"]),
        # An allowed setting is a value, not a section to smuggle keys into.
        ({"log_level": {"display": "x"}}, ["log_level.display"]),
        ({"intervals": {"heartbeat": {"player_unit": "x"}}}, ["intervals.heartbeat.player_unit"]),
    ],
)
def test_board_local_keys(changes: dict[str, Any], refused: list[str]) -> None:
    assert fp.board_local_keys(changes) == refused


def test_the_error_names_every_refused_key() -> None:
    with pytest.raises(fp.ProtocolError) as caught:
        fp.check_remote_config({"display": {"player_unit": "x"}, "credentials_file": "/x"})
    assert caught.value.reason == "board_local"
    assert caught.value.detail.startswith(
        "not changeable remotely: credentials_file, display.player_unit"
    )
    fp.check_remote_config({"intervals": {"display": 10}})  # allowed: no error


def test_merge_applies_changes_section_by_section() -> None:
    current = {"device_id": "lc-01", **fp.RemoteConfig().model_dump()}
    merged = fp.merge_remote_config(current, {"intervals": {"heartbeat": 15}, "log_level": "DEBUG"})
    assert merged["intervals"]["heartbeat"] == 15
    assert merged["intervals"]["power"] == 60  # untouched keys of the section stay
    assert merged["log_level"] == "DEBUG"
    assert merged["device_id"] == "lc-01"  # the rest of the configuration is kept
    assert current["intervals"]["heartbeat"] == 30  # and the current one is not changed


@pytest.mark.parametrize(
    ("changes", "reason", "names"),
    [
        ({"intervals": {"heartbeat": 0}}, "invalid_config", "intervals.heartbeat"),
        ({"spool": {"delivery": "pigeon"}}, "invalid_config", "spool.delivery"),
        ({"log_level": "LOUD"}, "invalid_config", "log_level"),
        ({"display": {"player_unit": "x"}}, "board_local", "display.player_unit"),
    ],
)
def test_merge_refuses_naming_the_setting(changes: dict[str, Any], reason: str, names: str) -> None:
    with pytest.raises(fp.ProtocolError) as caught:
        fp.merge_remote_config(fp.RemoteConfig().model_dump(), changes)
    assert caught.value.reason == reason
    assert caught.value.detail.startswith(names) or names in caught.value.detail


def test_the_agent_configures_itself_with_the_protocol_sections() -> None:
    """One definition: the agent's settable sections are the protocol's."""
    from edge_agent.config import AgentConfig  # noqa: PLC0415

    fields = AgentConfig.model_fields
    assert fields["intervals"].annotation is fp.RemoteConfig.model_fields["intervals"].annotation
    assert fields["spool"].annotation is fp.RemoteConfig.model_fields["spool"].annotation
    assert fields["proof"].annotation is fp.RemoteConfig.model_fields["proof"].annotation
    defaults = AgentConfig(device_id="lc-01").model_dump(include=set(fp.RemoteConfig.model_fields))
    assert defaults == fp.RemoteConfig().model_dump()
