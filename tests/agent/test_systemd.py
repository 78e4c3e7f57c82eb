"""systemd integration: READY once started, WATCHDOG while the loop runs,
STOPPING at the end — over a real notify socket."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import BaseModel

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.sdnotify import notify
from tests.agent.conftest import FakeCollector, fake_collectors, running
from tests.support.mosquitto import Mosquitto


def test_notify_without_systemd_is_a_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert notify("READY=1") is False


def test_ready_watchdog_stopping(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_config: Callable[..., AgentConfig],
    mosquitto: Mosquitto,
) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(10)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    received: list[str] = []
    agent = Agent(
        make_config(intervals={"heartbeat": 0.05, "power": 0.05}), collectors=fake_collectors()
    )
    with running(agent):
        while received.count("WATCHDOG=1") < 3:
            received.append(server.recv(64).decode())
    while "STOPPING=1" not in received:
        received.append(server.recv(64).decode())
    server.close()
    assert received[0] == "READY=1"
    assert received[-1] == "STOPPING=1"


def drain(server: socket.socket) -> int:
    """Read until a timeout; return how many datagrams came first."""
    count = 0
    while count < 50:
        try:
            server.recv(64)
        except TimeoutError:
            return count
        count += 1
    return count


def test_no_watchdog_ping_while_a_collector_hangs(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_config: Callable[..., AgentConfig],
    mosquitto: Mosquitto,
) -> None:
    path = tmp_path / "notify.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    hang = threading.Event()
    release = threading.Event()
    collectors = fake_collectors()
    power = collectors[fp.TelemetryKind.POWER]
    assert isinstance(power, FakeCollector)
    original = power.make

    def slow() -> BaseModel:
        if hang.is_set():
            release.wait(30)
        return original()

    power.make = slow
    agent = Agent(make_config(intervals={"heartbeat": 0.05, "power": 0.05}), collectors=collectors)
    with running(agent):
        server.settimeout(10)
        assert server.recv(64) == b"READY=1"
        assert server.recv(64) == b"WATCHDOG=1"
        hang.set()
        server.settimeout(1.5)
        # drain pings sent before the hang took hold, then silence
        assert drain(server) < 50
        release.set()
        server.settimeout(10)
        assert server.recv(64) == b"WATCHDOG=1"  # progress again, pings again
    server.close()
