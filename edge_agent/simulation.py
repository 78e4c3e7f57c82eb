"""A simulated board: the state the simulated collectors read.

The demo's scenarios and the tests change it (mains lost, a camera stops
answering, the screen goes dark …) and the simulated collectors report it as
a real board would. Time comes from an injectable clock.
"""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from fleet_protocol.messages import ContentKind

#: What a simulated screen shows: the content as it plays, nothing, or one
#: picture stuck while the player goes on (screen proof, edge_agent.proof).
ScreenPicture = Literal["ok", "black", "frozen"]
#: What a simulated camera sees: its scene, or a black, covered, frozen or
#: turned-away picture.
CameraView = Literal["ok", "black", "covered", "frozen", "moved"]


@dataclass
class SimulatedContent:
    content_id: str = "tuyen-truyen-2026-11"
    kind: ContentKind = "propaganda"
    language: str = "vi"

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content_id.encode()).hexdigest()


@dataclass
class SimulatedBoard:
    """Everything a simulated board reports, plus how it evolves over time."""

    seed: int = 0
    clock: Callable[[], float] = time.monotonic
    # power
    mains: bool = True
    battery_percent: float = 100.0
    battery_full_runtime_s: float = 4 * 3600
    mains_voltage: float = 220.0
    # network
    uplink_up: bool = True
    rtt_ms: float = 45.0
    loss_percent: float = 0.0
    lte_rsrp_dbm: float = -95.0
    rx_bytes: int = 0
    tx_bytes: int = 0
    # cameras: id -> answering RTSP
    cameras: dict[str, bool] = field(default_factory=lambda: {"cam1": True})
    # what each camera sees (absent: "ok"); scenarios such as camera-covered set it
    camera_views: dict[str, CameraView] = field(default_factory=dict)
    # display
    screen_on: bool = True
    player_running: bool = True
    content: SimulatedContent = field(default_factory=SimulatedContent)
    #: what is really on the screen (scenario screen-frozen sets "frozen")
    screen_picture: ScreenPicture = "ok"
    # system
    heartbeat_frozen: bool = False
    cpu_percent: float = 8.0
    memory_percent: float = 35.0
    disk_percent: float = 22.0
    temperature_c: float = 46.0
    started_at: float = field(init=False)
    _last: float = field(init=False)
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)  # noqa: S311 - simulation, not security
        self.started_at = self._last = self.clock()

    def advance(self) -> None:
        """Move the simulation to the clock's now (battery drains or charges)."""
        now = self.clock()
        dt = max(0.0, now - self._last)
        self._last = now
        rate = 100.0 / self.battery_full_runtime_s
        if self.mains:
            self.battery_percent = min(100.0, self.battery_percent + rate * dt * 2)
        else:
            self.battery_percent = max(0.0, self.battery_percent - rate * dt)
        if self.uplink_up:
            self.rx_bytes += int(dt * 2_000)
            self.tx_bytes += int(dt * 1_200)

    @property
    def uptime_s(self) -> int:
        return int(self.clock() - self.started_at)

    @property
    def runtime_s(self) -> int:
        return int(self.battery_percent / 100.0 * self.battery_full_runtime_s)

    @property
    def battery_dead(self) -> bool:
        return not self.mains and self.battery_percent <= 0.0

    def jitter(self, value: float, spread: float) -> float:
        return value + self.rng.uniform(-spread, spread)
