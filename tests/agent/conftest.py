"""Agent fixtures: configs pointing at the test broker, collectors we control."""

from __future__ import annotations

import contextlib
import errno
import json
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
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


# -- a real full disk ---------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs: a real file system that fills up."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()[:200]}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path) -> Path:
    """Take every free byte of ``directory``'s file system; the file to delete."""
    filler = directory / "filler"
    with filler.open("ab", buffering=0) as f:
        for chunk in (65536, 4096, 512, 1):
            try:
                while True:
                    f.write(b"\0" * chunk)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    return filler


def fill_again(filler: Path) -> None:
    """Take whatever space was freed since (as a log file would)."""
    with contextlib.suppress(OSError):
        fill(filler.parent)


# -- a stand-in for the server's ingest ---------------------------------------------------


class ReceiptSender:
    """Reads what boards publish, as the server's ingest does, and answers each
    message with a delivery receipt once ``committing`` is set."""

    def __init__(self, port: int, *, committing: bool = True) -> None:
        self.committing = threading.Event()
        if committing:
            self.committing.set()
        self.seen: list[tuple[int, int]] = []  # (boot, seq) of every message read
        self._lock = threading.Lock()
        self._ready = threading.Event()
        # A persistent session, as ingest has: the broker keeps what arrives
        # while it reconnects.
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id="test-ingest",
            protocol=mqtt.MQTTv311,
            clean_session=False,
        )
        self.client.reconnect_delay_set(1, 2)
        filters = [f for f in fp.subscription_filters() if not f.endswith("/state")]
        self.client.on_connect = lambda c, *_a: c.subscribe([(f, 1) for f in filters])
        self.client.on_subscribe = lambda *_a: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert self._ready.wait(10), "ingest stand-in not subscribed"

    def _on_message(self, client: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        doc = json.loads(msg.payload)
        with self._lock:
            self.seen.append((doc["boot"], doc["seq"]))
        if self.committing.is_set():
            client.publish(
                *receipt(doc["device_id"], doc["boot"], [(doc["seq"], doc["seq"])]), qos=1
            )

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def receipt(device: str, boot: int, ranges: list[tuple[int, int]]) -> tuple[str, bytes]:
    message = fp.Receipt(
        schema_version=1,
        device_id=device,
        boot=boot,
        ranges=ranges,
        committed_at=datetime.now(UTC),
    )
    return fp.receipt_topic(device), fp.encode(message)


def spool_sum(path: Path) -> tuple[int, int]:
    """(rows, bytes) as the database itself counts them."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        rows, size = db.execute("SELECT count(*), coalesce(sum(size), 0) FROM outbox").fetchone()
    return int(rows), int(size)
