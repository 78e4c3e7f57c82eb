"""Heartbeat: is the controller itself healthy (load, memory, disk, heat, clock)?

A board whose disk is full or whose clock has drifted still "answers", but
its spool stops growing and its timestamps lie; the heartbeat lets the server
see that before the board goes dark.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import psutil

from edge_agent import __version__
from edge_agent.collectors._command import run_command
from edge_agent.collectors.base import Collector
from edge_agent.errors import CollectorError
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import TelemetryKind
from fleet_protocol.messages import HeartbeatData

log = logging.getLogger(__name__)

#: Sensor chips that measure the SoC/CPU, best first (x86, AMD, Raspberry Pi, Rockchip …).
_CPU_CHIPS = ("cpu_thermal", "cpu-thermal", "soc_thermal", "coretemp", "k10temp", "acpitz")


class TemperatureReading(Protocol):
    @property
    def current(self) -> float: ...


def pick_temperature(sensors: Mapping[str, Sequence[TemperatureReading]]) -> float | None:
    """The controller's temperature: a CPU chip if the kernel names one, else the hottest."""
    for chip in _CPU_CHIPS:
        values = [r.current for r in sensors.get(chip, ()) if _plausible(r.current)]
        if values:
            return max(values)
    values = [r.current for readings in sensors.values() for r in readings if _plausible(r.current)]
    return max(values) if values else None


def _plausible(value: float) -> bool:
    return -60.0 <= value <= 150.0


def parse_timedatectl(text: str) -> bool | None:
    """``timedatectl show -p NTPSynchronized --value`` prints ``yes`` or ``no``."""
    value = text.strip().lower()
    return {"yes": True, "no": False}.get(value)


def parse_chronyc_tracking(text: str) -> bool | None:
    """``chronyc -n tracking``: "Leap status : Normal" means synchronised."""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "leap status":
            return value.strip().lower() != "not synchronised"
    return None


class SystemCollector(Collector):
    """Reads the controller through psutil, and the clock state through systemd or chrony.

    ``disk_path`` is where the spool lives: a full disk there is what silently
    stops a board from keeping what it measured while offline.
    """

    kind = TelemetryKind.HEARTBEAT
    backend = "psutil"

    def __init__(
        self,
        disk_path: Path = Path("/"),
        timeout_s: float = 2.0,
        timedatectl: str = "timedatectl",
        chronyc: str = "chronyc",
    ) -> None:
        self._disk_path = disk_path
        self._timeout_s = timeout_s
        self._timedatectl = timedatectl
        self._chronyc = chronyc
        # psutil measures CPU between two calls; this one starts the first window.
        psutil.cpu_percent(interval=None)
        self._window_started = time.monotonic()

    def collect(self) -> HeartbeatData:
        try:
            uptime = max(0, int(time.time() - psutil.boot_time()))
            # A window of a few ms says nothing (e.g. `edge-agent check`): measure 0.2 s.
            too_short = time.monotonic() - self._window_started < 0.5
            cpu = psutil.cpu_percent(interval=0.2 if too_short else None)
            self._window_started = 0.0
            memory = psutil.virtual_memory().percent
            disk = psutil.disk_usage(str(_existing(self._disk_path))).percent
        except (OSError, psutil.Error) as exc:
            raise CollectorError(f"cannot read system counters: {exc}") from exc
        return HeartbeatData(
            uptime_s=uptime,
            agent_version=__version__,
            cpu_percent=_percent(cpu),
            memory_percent=_percent(memory),
            disk_percent=_percent(disk),
            temperature_c=self._temperature(),
            clock_synced=self.clock_synced(),
        )

    def _temperature(self) -> float | None:
        sensors = getattr(psutil, "sensors_temperatures", None)
        if sensors is None:
            return None
        try:
            readings = sensors()
        except (OSError, RuntimeError) as exc:
            log.debug("no temperature sensors: %s", exc)
            return None
        value = pick_temperature(readings)
        return round(value, 1) if value is not None else None

    def clock_synced(self) -> bool | None:
        """True/False from systemd-timesyncd or chrony; None when neither can tell."""
        probes = (
            ([self._timedatectl, "show", "-p", "NTPSynchronized", "--value"], parse_timedatectl),
            ([self._chronyc, "-n", "tracking"], parse_chronyc_tracking),
        )
        for argv, parse in probes:
            try:
                result = run_command(argv, self._timeout_s)
            except CollectorError as exc:  # NotPresent included: try the next tool
                log.debug("clock state: %s", exc)
                continue
            if result.ok:
                synced = parse(result.stdout)
                if synced is not None:
                    return synced
            log.debug("clock state: %s said %s", argv[0], result.error_text())
        return None


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing parent (the spool directory may not exist yet)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _percent(value: float) -> float:
    return min(100.0, max(0.0, float(value)))


class SimulatedSystemCollector(Collector):
    """Reports the simulated board's load; time comes from the board's clock."""

    kind = TelemetryKind.HEARTBEAT
    backend = "simulated"

    def __init__(self, board: SimulatedBoard) -> None:
        self._board = board

    def collect(self) -> HeartbeatData:
        board = self._board
        board.advance()
        return HeartbeatData(
            uptime_s=board.uptime_s,
            agent_version=__version__,
            cpu_percent=_percent(board.jitter(board.cpu_percent, 3.0)),
            memory_percent=_percent(board.memory_percent),
            disk_percent=_percent(board.disk_percent),
            temperature_c=round(board.jitter(board.temperature_c, 1.0), 1),
            clock_synced=True,
        )
