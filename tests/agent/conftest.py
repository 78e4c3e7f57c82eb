"""Agent fixtures: configs pointing at the test broker, collectors we control."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.collectors.base import Collector
from edge_agent.config import AgentConfig, load_config
from edge_agent.errors import CollectorError
from tests.support.mosquitto import Mosquitto


class FakeCollector(Collector):
    """A collector the test drives (the seam the agent owns: ``collectors=``)."""

    backend = "fake"

    def __init__(self, kind: fp.TelemetryKind, make: Callable[[], BaseModel]) -> None:
        self.kind = kind  # type: ignore[misc]
        self.make = make
        self.error: str | None = None
        self.calls = 0

    def collect(self) -> BaseModel:
        self.calls += 1
        if self.error:
            raise CollectorError(self.error)
        return self.make()


def fake_collectors() -> dict[fp.TelemetryKind, Collector]:
    return {
        fp.TelemetryKind.HEARTBEAT: FakeCollector(
            fp.TelemetryKind.HEARTBEAT,
            lambda: fp.HeartbeatData(
                uptime_s=1, agent_version="0.1.0", cpu_percent=5, memory_percent=30, disk_percent=20
            ),
        ),
        fp.TelemetryKind.POWER: FakeCollector(
            fp.TelemetryKind.POWER,
            lambda: fp.PowerData(
                source="ups", mains_present=True, on_battery=False, battery_percent=100
            ),
        ),
    }


@pytest.fixture
def make_config(tmp_path: Path, mosquitto: Mosquitto) -> Callable[..., AgentConfig]:
    def make(**overrides: Any) -> AgentConfig:
        values: dict[str, Any] = {
            "device_id": "lc-mlt-01",
            "mqtt_url": mosquitto.url,
            "spool_path": tmp_path / "spool.db",
            "intervals": {"heartbeat": 30, "power": 60, "network": 60, "camera": 60, "display": 30},
        }
        values.update(overrides)
        return load_config(None, **values)

    return make


@contextmanager
def running(agent: Agent) -> Iterator[Agent]:
    stop = threading.Event()
    thread = threading.Thread(target=agent.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield agent
    finally:
        stop.set()
        agent.wake.set()
        thread.join(15)
        assert not thread.is_alive(), "agent did not stop"
