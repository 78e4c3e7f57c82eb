"""Commands and desired configuration: each command, bad input, duplicates, expiry."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig, load_config
from edge_agent.simulation import SimulatedBoard
from tests.agent.conftest import fake_collectors, running
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

DEVICE = "lc-mlt-01"


@pytest.fixture
def agent(tmp_path: Path) -> Agent:
    config = load_config(
        None, device_id=DEVICE, spool_path=tmp_path / "spool.db", mqtt_url="mqtt://127.0.0.1:9"
    )  # never connected in these tests
    board = SimulatedBoard(player_running=False)
    return Agent(config, collectors=fake_collectors(), sim=board)


def command(
    name: str,
    request_id: str = "r-1",
    *,
    expires_in: float | None = 60,
    device: str = DEVICE,
    **args: Any,
) -> tuple[str, bytes]:
    now = datetime.now(UTC)
    request = fp.CommandRequest(
        schema_version=1,
        device_id=device,
        request_id=request_id,
        command=name,
        issued_at=now,
        expires_at=None if expires_in is None else now + timedelta(seconds=expires_in),
        args=args,
    )
    return fp.command_topic(device, name), fp.encode(request)


def answers(agent: Agent) -> list[fp.CommandResultData]:
    results = []
    for row in agent.spool.pending(limit=1000):
        message = fp.decode(row.topic, row.payload)
        if isinstance(message, fp.CommandResultMessage):
            results.append(message.data)
    return results


def send(agent: Agent, *messages: tuple[str, bytes]) -> list[fp.CommandResultData]:
    for topic, payload in messages:
        agent._receive(topic, payload)
    agent.step()
    return answers(agent)


def test_ping(agent: Agent) -> None:
    [result] = send(agent, command("ping"))
    assert result.status == "ok"
    assert result.output == {"pong": True, "boot": 1, "uptime_s": 0}


def test_collect_now_takes_readings_at_once(agent: Agent) -> None:
    [result] = send(agent, command("collect_now", kinds=["power"]))
    assert result.status == "ok"
    assert result.output == {"collected": ["power"]}


def test_collect_now_rejects_unknown_kind(agent: Agent) -> None:
    [result] = send(agent, command("collect_now", kinds=["gps"]))
    assert result.status == "rejected"
    assert "kinds must be" in (result.error or "")


def test_restart_player(agent: Agent) -> None:
    [result] = send(agent, command("restart_player"))
    assert result.status == "ok"
    assert agent.sim is not None
    assert agent.sim.player_running


def test_reboot_refused_without_confirm(agent: Agent) -> None:
    [result] = send(agent, command("reboot"))
    assert result.status == "rejected"
    assert "confirm" in (result.error or "")


def test_reboot_refused_when_disabled_in_config(agent: Agent) -> None:
    [result] = send(agent, command("reboot", confirm=True))
    assert result.status == "rejected"
    assert "allow_reboot" in (result.error or "")


def test_reboot_with_confirm_when_allowed(agent: Agent) -> None:
    agent.board_config = agent.board_config.model_copy(update={"allow_reboot": True})
    [result] = send(agent, command("reboot", confirm=True))
    assert result.status == "ok"
    assert result.output == {"detail": "simulated reboot (nothing rebooted)"}


def test_unknown_command_rejected(agent: Agent) -> None:
    [result] = send(agent, command("self_destruct"))
    assert result.status == "rejected"
    assert "unknown command" in (result.error or "")


def test_bad_arguments_rejected(agent: Agent) -> None:
    [result] = send(agent, command("ping", loud=True))
    assert result.status == "rejected"


def test_malformed_command_with_request_id_is_answered(agent: Agent) -> None:
    topic = fp.command_topic(DEVICE, "ping")
    payload = json.dumps(
        {
            "schema_version": 1,
            "device_id": DEVICE,
            "request_id": "r-bad",
            "command": "ping",
            "issued_at": "not a time",
        }
    ).encode()
    [result] = send(agent, (topic, payload))
    assert result.request_id == "r-bad"
    assert result.status == "rejected"
    assert "issued_at" in (result.error or "")


def test_garbage_without_request_id_is_dropped(agent: Agent) -> None:
    assert send(agent, (fp.command_topic(DEVICE, "ping"), b"\xff\x00garbage")) == []


def test_duplicate_request_id_answered_once(agent: Agent) -> None:
    results = send(agent, command("ping", "r-7"), command("ping", "r-7"))
    assert len(results) == 1
    assert send(agent, command("ping", "r-7")) == results  # also after a later redelivery


def test_expired_command_is_not_executed(agent: Agent) -> None:
    agent.board_config = agent.board_config.model_copy(update={"allow_reboot": True})
    [result] = send(agent, command("reboot", expires_in=-1, confirm=True))
    assert result.status == "expired"


def test_set_config_applies_a_valid_change(agent: Agent) -> None:
    [result] = send(agent, command("set_config", config={"intervals": {"heartbeat": 15}}))
    assert result.status == "ok"
    assert agent.config.intervals.heartbeat == 15
    assert agent.config.intervals.power == 60  # untouched


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"intervals": {"heartbeat": -5}}, "intervals.heartbeat"),
        ({"device_id": "lc-other"}, "not changeable remotely: device_id"),
        ({"mqtt_url": "mqtt://evil:1883"}, "not changeable remotely: mqtt_url"),
        ({"display": {"player_unit": "poweroff.target"}}, "remotely: display.player_unit"),
    ],
)
def test_set_config_rejects_bad_or_forbidden_changes(
    agent: Agent, change: dict[str, Any], error: str
) -> None:
    before = agent.config
    [result] = send(agent, command("set_config", config=change))
    assert result.status == "rejected"
    assert error in (result.error or "")
    assert agent.config == before


def test_desired_config_applied_and_reported(agent: Agent) -> None:
    desired = fp.ConfigDesired(
        schema_version=1,
        device_id=DEVICE,
        version=3,
        issued_at=datetime.now(UTC),
        config={"intervals": {"display": 10}},
    )
    topic = fp.config_desired_topic(DEVICE)
    agent._receive(topic, fp.encode(desired))
    agent._receive(topic, fp.encode(desired))  # the retained copy again: applied once
    agent.step()
    reports = [
        fp.decode(r.topic, r.payload)
        for r in agent.spool.pending(limit=100)
        if r.topic.endswith("/config/reported")
    ]
    assert len(reports) == 1
    assert reports[0].data.version == 3  # type: ignore[union-attr]
    assert reports[0].data.applied  # type: ignore[union-attr]
    assert agent.config.intervals.display == 10


def test_command_round_trip_over_mqtt(
    make_config: Callable[..., AgentConfig], mosquitto: Mosquitto
) -> None:
    sub = Subscriber(mosquitto.port, "fleet/v1/+/cmd_result")
    agent = Agent(make_config(), collectors=fake_collectors())
    with running(agent):
        wait_for(agent.session.ready.is_set, what="agent connected")
        pub = Publisher(mosquitto.port)
        pub.publish_all([command("ping", "r-mqtt")])
        msgs = sub.wait_for(lambda ms: len(ms) == 1, what="command result")
        pub.close()
    assert msgs[0].doc["data"]["request_id"] == "r-mqtt"
    assert msgs[0].doc["data"]["status"] == "ok"
    sub.close()


def _hostile_heartbeat() -> Any:
    return fp.HeartbeatData(
        uptime_s=1, agent_version="0.1\x00", cpu_percent=5, memory_percent=30, disk_percent=20
    )


def _out_of_bounds_power() -> Any:
    # model_construct skips validation, as a careless collector might: encode refuses it
    return fp.PowerData.model_construct(source="ups", on_battery=False, runtime_s=2**63)


def test_a_reading_the_protocol_refuses_is_a_failed_reading_not_a_stopped_agent(
    agent: Agent,
) -> None:
    agent.collectors[fp.TelemetryKind.HEARTBEAT].make = _hostile_heartbeat  # type: ignore[attr-defined]
    agent.collectors[fp.TelemetryKind.POWER].make = _out_of_bounds_power  # type: ignore[attr-defined]
    assert agent.collect(fp.TelemetryKind.HEARTBEAT) is False
    assert agent.collect(fp.TelemetryKind.POWER) is False
    agent.step()  # the loop goes on
    events = [
        fp.decode(row.topic, row.payload)
        for row in agent.spool.pending(limit=1000)
        if "/event/" in row.topic
    ]
    failed = {
        e.data.details["kind"]: e.data.details["error"]
        for e in events
        if isinstance(e, fp.EventMessage) and e.data.type == "collector_failed"
    }
    assert set(failed) == {"heartbeat", "power"}
    assert all(str(text).startswith("reading refused by the protocol") for text in failed.values())
    assert "\x00" not in "".join(map(str, failed.values()))
