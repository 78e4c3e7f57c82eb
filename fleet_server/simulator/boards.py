"""A simulated board as the fleet loop keeps it: what it is (``BoardSpec``,
also what the seed writes to the database) and its running state
(``SimBoard``: session, counters, backlog while its link is down)."""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt

import fleet_protocol as fp
from edge_agent.collectors.base import Collector
from edge_agent.simulation import SimulatedBoard

DEFAULT_INTERVALS: dict[fp.TelemetryKind, float] = {
    fp.TelemetryKind.HEARTBEAT: 30,
    fp.TelemetryKind.POWER: 60,
    fp.TelemetryKind.NETWORK: 60,
    fp.TelemetryKind.CAMERA: 60,
    fp.TelemetryKind.DISPLAY: 30,
}
_BACKLOG_MAX = 2_000  # messages kept per board while its link is down


@dataclass
class BoardSpec:
    device_id: str
    site: str
    cameras: list[str]
    boot: int = 1
    #: the first seq of this run (a boot continued across a demo restart)
    seq: int = 0


@dataclass
class SimBoard:
    spec: BoardSpec
    sim: SimulatedBoard
    collectors: dict[fp.TelemetryKind, Collector]
    intervals: dict[fp.TelemetryKind, float]
    client: mqtt.Client | None = None
    boot: int = 1
    seq: int = 0
    birth_seq: int = 0
    powered: bool = True
    link_up: bool = True
    stuck: bool = False
    connected: bool = False
    connects: int = 0
    attempts: int = 0
    backlog: collections.deque[tuple[type[Any], str, Any, datetime]] = field(
        default_factory=lambda: collections.deque(maxlen=_BACKLOG_MAX)
    )
    published: int = 0
    unacked: int = 0  # handed to paho, PUBACK not yet received

    @property
    def device_id(self) -> str:
        return self.spec.device_id

    def next_seq(self) -> int:
        seq = self.seq
        self.seq += 1
        return seq
