"""A simulated fleet of *real* edge agents: each board runs the edge_agent's
own Agent (spool, MQTT session, commands) with simulated collectors, in its
own thread. For the demo's tens of boards; `Fleet` (runtime.py) multiplexes
thousands for scale tests.

Scenarios drive both through the same controls: ``call_later``,
``set_link`` (4G up/down: the agent's session drops and stays away),
``power_off`` (the controller dies: no goodbye, the broker sends the will)
and ``power_on`` (a cold start: a new boot from the same spool).

The scenario's clock starts once every agent is connected: real agent
threads start slowly on a busy machine, and a board whose battery ran out
before it ever connected would leave no last will to see. A ``call_later``
made before then counts from that moment.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.collectors import simulated_collectors
from edge_agent.config import load_config
from edge_agent.simulation import SimulatedBoard
from fleet_server.simulator.boards import DEFAULT_INTERVALS, BoardSpec

log = logging.getLogger(__name__)


@dataclass
class AgentBoard:
    spec: BoardSpec
    sim: SimulatedBoard
    spool_path: Path
    agent: Agent | None = None
    thread: threading.Thread | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    powered: bool = True
    link_up: bool = True

    @property
    def device_id(self) -> str:
        return self.spec.device_id

    @property
    def connected(self) -> bool:
        return self.agent is not None and self.agent.session.ready.is_set()

    @property
    def stuck(self) -> bool:
        return self.sim.heartbeat_frozen

    @stuck.setter
    def stuck(self, value: bool) -> None:
        self.sim.heartbeat_frozen = value

    @property
    def boot(self) -> int:
        return self.agent.boot if self.agent is not None else 0


class AgentFleet:
    def __init__(
        self,
        specs: list[BoardSpec],
        mqtt_url: str,
        spool_dir: Path,
        *,
        intervals: dict[fp.TelemetryKind, float] | None = None,
        battery_runtime_s: float = 4 * 3600,
        keepalive_s: int = 30,
        resume_boots: bool = False,
        connect_wait_s: float = 60.0,
    ) -> None:
        """``resume_boots``: each board's first start continues the boot its
        spool recorded (the demo restarting is no reboot of its boards, so no
        "agent restarting" incidents); a ``power_on`` is always a new boot.
        ``connect_wait_s``: the scenario's clock starts anyway this long after
        ``start`` if some agent has not connected by then (with a warning)."""
        self.mqtt_url = mqtt_url
        self.resume_boots = resume_boots
        self.keepalive_s = keepalive_s
        self.intervals = {k.value: v for k, v in (intervals or DEFAULT_INTERVALS).items()}
        spool_dir.mkdir(parents=True, exist_ok=True)
        self.boards: dict[str, AgentBoard] = {}
        for spec in specs:
            sim = SimulatedBoard(
                cameras=dict.fromkeys(spec.cameras, True), battery_full_runtime_s=battery_runtime_s
            )
            self.boards[spec.device_id] = AgentBoard(spec, sim, spool_dir / f"{spec.device_id}.db")
        self.connect_wait_s = connect_wait_s
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        #: (delay, action) asked for before the scenario's clock started
        self._waiting: list[tuple[float, Callable[[], None]]] = []
        self._tick = itertools.count()
        self._lock = threading.Lock()
        self._started_at: float | None = None
        #: every agent connected (or ``connect_wait_s`` passed): timers run
        self.clock_started = threading.Event()
        self.stopping = False

    # -- timers (scenarios) -----------------------------------------------------------
    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        """Run ``action`` ``delay`` seconds from now, or from the moment the
        scenario's clock starts if it has not yet."""
        with self._lock:
            if not self.clock_started.is_set():
                self._waiting.append((delay, action))
                return
            heapq.heappush(self._timers, (time.monotonic() + delay, next(self._tick), action))

    def _start_clock(self, now: float) -> None:
        if self.clock_started.is_set() or self._started_at is None:
            return
        if self.connected_count() < len(self.boards):
            if now - self._started_at < self.connect_wait_s:
                return
            log.warning(
                "%d of %d agents connected after %.0f s: the scenario starts anyway",
                self.connected_count(),
                len(self.boards),
                now - self._started_at,
            )
        with self._lock:
            for delay, action in self._waiting:
                heapq.heappush(self._timers, (now + delay, next(self._tick), action))
            self._waiting.clear()
            self.clock_started.set()

    # -- boards -----------------------------------------------------------------------
    def _launch(self, board: AgentBoard, *, resume: bool = False) -> None:
        config = load_config(
            None,
            environ={},
            device_id=board.device_id,
            mqtt_url=self.mqtt_url,
            spool_path=board.spool_path,
            simulate=True,
            keepalive_s=self.keepalive_s,
            intervals=self.intervals,
            # simulated boards share one disk: no per-board disk reserve
            spool={"reserve_bytes": 0},
            log_level="WARNING",
        )
        board.stop = threading.Event()
        board.agent = Agent(
            config,
            sim=board.sim,
            collectors=simulated_collectors(board.sim),
            link_up=lambda: board.link_up,
            resume_boot=resume,
        )
        board.thread = threading.Thread(
            target=board.agent.run, args=(board.stop,), name=f"agent-{board.device_id}", daemon=True
        )
        board.thread.start()

    def _halt(self, board: AgentBoard, *, clean: bool) -> None:
        if board.agent is None:
            return
        if not clean:
            board.agent.crash()
        board.stop.set()
        board.agent.wake.set()
        if board.thread is not None:
            board.thread.join(15)
        board.agent = None

    def set_link(self, board: AgentBoard, up: bool) -> None:
        board.link_up = up
        board.sim.uplink_up = up

    def power_off(self, board: AgentBoard) -> None:
        board.powered = False
        self._halt(board, clean=False)

    def power_on(self, board: AgentBoard) -> None:
        board.powered = True
        board.sim.mains = True
        board.sim.battery_percent = max(board.sim.battery_percent, 5.0)
        self._launch(board)

    def connected_count(self) -> int:
        return sum(1 for b in self.boards.values() if b.connected)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        self._started_at = time.monotonic()
        for board in self.boards.values():
            self._launch(board, resume=self.resume_boots)

    def run_once(self) -> None:
        now = time.monotonic()
        self._start_clock(now)
        due: list[Callable[[], None]] = []
        with self._lock:
            while self._timers and self._timers[0][0] <= now:
                due.append(heapq.heappop(self._timers)[2])
        for action in due:
            try:
                action()
            except Exception:  # a scenario step never stops the fleet
                log.exception("scenario step failed")
        for board in self.boards.values():
            board.sim.advance()
            if board.powered and board.sim.battery_dead:
                self.power_off(board)

    def run(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            self.run_once()
            time.sleep(0.2)

    def stop(self) -> None:
        """Every running agent stops cleanly ("offline", no will)."""
        self.stopping = True
        for board in self.boards.values():
            if board.agent is not None:
                board.stop.set()
                board.agent.wake.set()
        for board in self.boards.values():
            if board.thread is not None:
                board.thread.join(15)
            board.agent = None
