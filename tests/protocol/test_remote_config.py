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
