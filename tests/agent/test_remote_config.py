"""What a server may change on a board, through real MQTT (issue 14).

The reproduced attack: ``set_config {"display": {"player_unit":
"poweroff.target"}}`` then ``restart_player`` powered the board off. Only the
settings of ``fp.REMOTE_CONFIG_KEYS`` may be changed remotely; a change that
touches any other is refused whole, and commands act on the board's own unit
and ``allow_reboot``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.simulation import SimulatedBoard
from tests.agent.conftest import fake_collectors, running
from tests.agent.test_commands import DEVICE, command
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

BOARD_UNIT = "signage-player.service"


class Link:
    """The server's side of the broker: publishes commands and desired
    configuration, reads the board's answers and reports."""

    def __init__(self, port: int) -> None:
        self.sub = Subscriber(
            port, [fp.command_result_topic(DEVICE), fp.config_reported_topic(DEVICE)]
        )
        self.pub = Publisher(port)

    def results(self, *requests: tuple[str, bytes]) -> dict[str, fp.CommandResultData]:
        """Send ``requests`` (in order) and wait for one answer to each."""
        ids = {json.loads(payload)["request_id"] for _topic, payload in requests}
        self.pub.publish_all(requests)

        def answered() -> dict[str, fp.CommandResultData] | None:
            found = {}
            for received in self.sub.on("/cmd_result"):
                message = fp.decode(received.topic, received.payload)
                assert isinstance(message, fp.CommandResultMessage)
                if message.data.request_id in ids:
                    found[message.data.request_id] = message.data
            return found if set(found) == ids else None

        found = wait_for(answered, 20, f"answers to {sorted(ids)}")
        assert found is not None
        return found

    def desire(self, version: int, config: dict[str, Any]) -> fp.ConfigReportedData:
        """Publish ``config`` retained as the server does; the board's report."""
        desired = fp.ConfigDesired(
            schema_version=1,
            device_id=DEVICE,
            version=version,
            issued_at=datetime.now(UTC),
            config=config,
        )
        self.pub.publish_all([(fp.config_desired_topic(DEVICE), fp.encode(desired))], retain=True)

        def report() -> fp.ConfigReportedData | None:
            for received in self.sub.on("/config/reported"):
                message = fp.decode(received.topic, received.payload)
                assert isinstance(message, fp.ConfigReportedMessage)
                if message.data.version == version:
                    return message.data
            return None

        reported = wait_for(report, 20, f"the report of version {version}")
        assert reported is not None
        return reported

    def close(self) -> None:
        self.pub.close()
        self.sub.close()


@pytest.fixture
def link(mosquitto: Mosquitto) -> Iterator[Link]:
    made = Link(mosquitto.port)
    yield made
    made.close()


@pytest.fixture
def sim_agent(make_config: Callable[..., AgentConfig]) -> Iterator[Agent]:
    """A connected agent on a simulated board (a remote change does not swap
    its collectors for the real ones of the test machine)."""
    agent = Agent(make_config(), collectors=fake_collectors(), sim=SimulatedBoard())
    level = logging.getLogger("edge_agent").level
    with running(agent):
        assert agent.session.ready.wait(15), "agent did not connect"
        yield agent
    logging.getLogger("edge_agent").setLevel(level)  # log_level changes are process-wide


def test_a_remote_player_unit_cannot_power_the_board_off(
    make_config: Callable[..., AgentConfig], link: Link
) -> None:
    restarted: list[tuple[str, ...]] = []
    agent = Agent(
        make_config(display={"player_unit": BOARD_UNIT}),
        collectors=fake_collectors(),
        systemctl=lambda *args: restarted.append(args),
    )
    with running(agent):
        assert agent.session.ready.wait(15), "agent did not connect"
        answers = link.results(
            command("set_config", "r-unit", config={"display": {"player_unit": "poweroff.target"}}),
            command("set_config", "r-allow", config={"allow_reboot": True}),
            command("restart_player", "r-restart"),
            command("reboot", "r-reboot", confirm=True),
        )
    assert answers["r-unit"].status == "rejected"
    assert "not changeable remotely: display.player_unit" in (answers["r-unit"].error or "")
    assert answers["r-allow"].status == "rejected"
    assert "allow_reboot" in (answers["r-allow"].error or "")
    # The restart restarts the board's own unit, and only that.
    assert answers["r-restart"].status == "ok"
    assert answers["r-restart"].output == {"detail": f"restarted {BOARD_UNIT}"}
    assert restarted == [("restart", BOARD_UNIT)]
    assert agent.config.display.player_unit == BOARD_UNIT
    # allow_reboot stayed off on the board.
    assert answers["r-reboot"].status == "rejected"
    assert "allow_reboot" in (answers["r-reboot"].error or "")


#: Board-local settings, each sent beside an allowed one (which must not be
#: applied either: a refused change applies nothing).
BOARD_LOCAL: list[tuple[dict[str, Any], str]] = [
    ({"display": {"status_url": "http://192.168.1.1/admin"}}, "display.status_url"),
    ({"display": {"status_file": "/etc/shadow"}}, "display.status_file"),
    ({"display": {"process_name": "sshd"}}, "display.process_name"),
    ({"mqtt_url": "mqtt://attacker.example:1883"}, "mqtt_url"),
    ({"credentials_file": "/etc/shadow"}, "credentials_file"),
    ({"ca_file": "/tmp/evil-ca.pem"}, "ca_file"),
    ({"cert_file": "/tmp/cert.pem"}, "cert_file"),
    ({"key_file": "/tmp/key.pem"}, "key_file"),
    ({"device_id": "lc-other-01"}, "device_id"),
    ({"spool_path": "/tmp/elsewhere.db"}, "spool_path"),
    ({"keepalive_s": 600}, "keepalive_s"),
    ({"simulate": True}, "simulate"),
    ({"network": {"targets": ["10.0.0.1:22"]}}, "network.targets"),
    ({"network": {"interface": "../../../etc"}}, "network.interface"),
    ({"network": {"timeout_s": 86_400}}, "network.timeout_s"),
    ({"power": {"ups": "ups@10.0.0.7"}}, "power.ups"),
    ({"cameras": [{"id": "c1", "host": "10.0.0.9"}]}, "cameras"),
    ({"intervals": {"heartbeat": {"player_unit": "x"}}}, "intervals.heartbeat.player_unit"),
    # how the board takes pictures names devices, files and a program to run
    ({"capture": {"ffmpeg": "/bin/sh"}}, "capture.ffmpeg"),
    ({"capture": {"screen_source": "x11"}}, "capture.screen_source"),
    ({"capture": {"default_credentials": [["root", "pass"]]}}, "capture.default_credentials"),
]


def test_board_local_settings_are_refused_and_nothing_is_applied(
    sim_agent: Agent, link: Link
) -> None:
    before = sim_agent.config
    requests = [
        command("set_config", f"r-{i}", config={"intervals": {"power": 5}, **change})
        for i, (change, _key) in enumerate(BOARD_LOCAL)
    ]
    answers = link.results(*requests)
    for i, (_change, key) in enumerate(BOARD_LOCAL):
        answer = answers[f"r-{i}"]
        assert answer.status == "rejected", key
        assert (answer.error or "").startswith(f"not changeable remotely: {key} "), answer.error
    assert sim_agent.config == before
    assert sim_agent.config.intervals.power == 60


def test_a_desired_configuration_with_a_board_local_key_is_reported_not_applied(
    sim_agent: Agent, link: Link
) -> None:
    refused = link.desire(
        1, {"intervals": {"heartbeat": 15}, "display": {"status_url": "http://10.0.0.1/"}}
    )
    assert refused.applied is False
    assert refused.error is not None
    assert refused.error.startswith("not changeable remotely: display.status_url")
    assert sim_agent.config.intervals.heartbeat == 30  # nothing of the version applied
    assert sim_agent.config.display.status_url is None
    applied = link.desire(2, {"intervals": {"heartbeat": 15}})
    assert (applied.applied, applied.error) == (True, None)
    assert sim_agent.config.intervals.heartbeat == 15


#: A valid value, other than the default, for every remote-editable setting.
REMOTE_VALUES: dict[str, Any] = {
    "log_level": "ERROR",
    "intervals.heartbeat": 41,
    "intervals.power": 42,
    "intervals.network": 43,
    "intervals.camera": 44,
    "intervals.display": 45,
    "spool.max_bytes": 5_000_000,
    "spool.max_age_days": 7.0,
    "spool.inflight": 50,
    "spool.delivery": "puback",
    "spool.receipt_timeout_s": 30.0,
    "spool.unreceipted_max": 500,
    "spool.reserve_bytes": 0,
    "spool.retry_s": 10.0,
    "spool.batch_max_delay_s": 120.0,
    "spool.batch_heartbeats_wait": True,
    "proof.screen_interval_s": 120.0,
    "proof.camera_interval_s": 600.0,
    "proof.snapshot_interval_s": 3600.0,
    "proof.daily_bytes": 1_000_000,
    "proof.snapshot_width": 320,
    "proof.black_luma": 20.0,
    "proof.flat_stddev": 4.0,
    "proof.frozen_after": 3,
    "proof.same_distance": 3,
    "proof.moved_distance": 18,
    "proof.wrong_distance": 25,
    "proof.camera_references": {"cam1": "0123456789abcdef"},
    "proof.screen_references": {"ab" * 32: ["fedcba9876543210"]},
    "data_budget.monthly_bytes": 30_000_000,
    "data_budget.adaptive": True,
}


def test_every_remote_editable_setting_is_applied(sim_agent: Agent, link: Link) -> None:
    assert set(REMOTE_VALUES) == fp.REMOTE_CONFIG_KEYS  # a new key gets a value here
    change: dict[str, Any] = {}
    for key, value in REMOTE_VALUES.items():
        *sections, name = key.split(".")
        node = change
        for section in sections:
            node = node.setdefault(section, {})
        node[name] = value
    answer = link.results(command("set_config", "r-all", config=change))["r-all"]
    assert answer.status == "ok", answer.error
    applied = sim_agent.config.model_dump()
    for key, value in REMOTE_VALUES.items():
        node = applied
        for part in key.split("."):
            node = node[part]
        assert node == value, key
    assert sim_agent.spool.reserve_bytes == 0
