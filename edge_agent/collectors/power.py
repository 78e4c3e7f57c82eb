"""Power: is the board on mains, and if not, how long can its UPS hold on?

"Mains lost, on battery" is its own incident, distinct from "board
unreachable": the board still talks, and the battery says how long it will.
Network UPS Tools (``upsc``) is the source when a UPS is configured; the
kernel's /sys/class/power_supply is the fallback for controllers with a
built-in battery or PoE/DC sensing.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

from edge_agent.collectors._command import run_command
from edge_agent.collectors.base import Collector
from edge_agent.errors import CollectorError, NotPresent
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import TelemetryKind, printable
from fleet_protocol.bounds import MAX_RUNTIME_S
from fleet_protocol.messages import PowerData

log = logging.getLogger(__name__)

#: Below this charge a UPS without an explicit LB flag is treated as low (NUT's default).
LOW_BATTERY_PERCENT = 10.0


def _float(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value.strip())
    except ValueError:
        return None


def _bounded(value: float | None, low: float, high: float) -> float | None:
    return value if value is not None and low <= value <= high else None


def parse_upsc(text: str) -> PowerData:
    """Read ``upsc <ups>`` output ("key: value" lines) into PowerData.

    ``ups.status`` holds space-separated flags: OL (on line power), OB (on
    battery), LB (low battery), CHRG/DISCHRG, and others we pass through.
    """
    values: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            values[key.strip()] = value.strip()
    status = values.get("ups.status")
    if not status:
        raise CollectorError("upsc output has no ups.status")
    flags = set(status.split())
    mains_present = True if "OL" in flags else False if "OB" in flags else None
    runtime = _float(values.get("battery.runtime"))
    return PowerData(
        source="ups",
        mains_present=mains_present,
        on_battery="OB" in flags,
        low_battery="LB" in flags,
        battery_percent=_bounded(_float(values.get("battery.charge")), 0, 100),
        runtime_s=_runtime(runtime),
        input_voltage_v=_bounded(_float(values.get("input.voltage")), 0, 500),
        ups_status=printable(status[:32]),
    )


def _runtime(seconds: float | None) -> int | None:
    """A UPS's runtime estimate, within what the protocol carries (a year):
    some report absurd figures on a full battery with no load."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return None
    return int(min(seconds, MAX_RUNTIME_S))


class UpsCollector(Collector):
    """Asks the local NUT server through ``upsc <target>``."""

    kind = TelemetryKind.POWER

    def __init__(self, target: str, timeout_s: float = 5.0, upsc: str = "upsc") -> None:
        self._target = target
        self._timeout_s = timeout_s
        self._upsc = upsc
        self.backend = f"upsc {target}"

    def collect(self) -> PowerData:
        try:
            result = run_command([self._upsc, self._target], self._timeout_s)
        except NotPresent as exc:
            raise NotPresent(f"upsc (Network UPS Tools client) is not installed: {exc}") from exc
        except CollectorError as exc:
            raise CollectorError(f"upsc {self._target}: {exc}") from exc
        if not result.ok:
            # upsc prints "Error: Data stale", "Error: Driver not connected",
            # "Error: Connection failure: Connection refused" …
            raise CollectorError(f"upsc {self._target}: {result.error_text()}")
        return parse_upsc(result.stdout)


class PowerSupplyCollector(Collector):
    """Reads the kernel's power supplies (``type`` Mains/USB and Battery/UPS)."""

    kind = TelemetryKind.POWER
    backend = "sysfs"

    _EXTERNAL = frozenset({"Mains", "USB", "Wireless"})
    _BATTERY = frozenset({"Battery", "UPS"})

    def __init__(self, path: Path = Path("/sys/class/power_supply")) -> None:
        self._path = path

    def collect(self) -> PowerData:
        external: list[bool] = []
        batteries: list[dict[str, str]] = []
        for supply in self._supplies():
            kind = _read(supply / "type")
            if kind in self._EXTERNAL:
                online = _read(supply / "online")
                if online is not None:
                    external.append(online == "1")
            elif kind in self._BATTERY:
                batteries.append(_read_all(supply))
        if not external and not batteries:
            raise NotPresent(f"no mains or battery supply under {self._path}")
        return self._reading(external, batteries[0] if batteries else None)

    def _supplies(self) -> list[Path]:
        try:
            return sorted(p for p in self._path.iterdir() if (p / "type").exists())
        except FileNotFoundError:
            raise NotPresent(f"{self._path} does not exist") from None
        except OSError as exc:
            raise CollectorError(f"cannot list {self._path}: {exc}") from exc

    @staticmethod
    def _reading(external: list[bool], battery: dict[str, str] | None) -> PowerData:
        mains_present = any(external) if external else None
        status = (battery or {}).get("status", "")
        on_battery = mains_present is False or (mains_present is None and status == "Discharging")
        capacity = _bounded(_float((battery or {}).get("capacity")), 0, 100)
        level = (battery or {}).get("capacity_level", "")
        if level:
            low = level in {"Critical", "Low"}
        else:
            low = on_battery and capacity is not None and capacity <= LOW_BATTERY_PERCENT
        runtime = _float((battery or {}).get("time_to_empty_now"))
        return PowerData(
            source="power_supply",
            mains_present=mains_present,
            on_battery=on_battery,
            low_battery=low,
            battery_percent=capacity,
            runtime_s=_runtime(runtime),
            ups_status=printable(status[:32]) or None,
        )


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # absent attribute, or EINVAL/ENODATA from a driver
        return None


def _read_all(supply: Path) -> dict[str, str]:
    names = ("status", "capacity", "capacity_level", "time_to_empty_now")
    return {name: value for name in names if (value := _read(supply / name)) is not None}


class SimulatedPowerCollector(Collector):
    """The simulated board's mains and battery, as a NUT UPS would report them."""

    kind = TelemetryKind.POWER
    backend = "simulated"

    def __init__(self, board: SimulatedBoard) -> None:
        self._board = board

    def collect(self) -> PowerData:
        board = self._board
        board.advance()
        battery = round(board.battery_percent, 1)
        low = not board.mains and battery <= LOW_BATTERY_PERCENT
        if board.mains:
            status = "OL" if battery >= 100.0 else "OL CHRG"
        else:
            status = "OB DISCHRG LB" if low else "OB DISCHRG"
        voltage = round(board.jitter(board.mains_voltage, 2.0), 1) if board.mains else 0.0
        return PowerData(
            source="simulated",
            mains_present=board.mains,
            on_battery=not board.mains,
            low_battery=low,
            battery_percent=battery,
            runtime_s=board.runtime_s,
            input_voltage_v=max(0.0, voltage),
            ups_status=status,
        )
