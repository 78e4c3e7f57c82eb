"""Heartbeat: the real machine through psutil, clock-state tools, temperature choice, simulation."""

from __future__ import annotations

import stat
import time
from pathlib import Path
from typing import NamedTuple

from edge_agent import __version__
from edge_agent.collectors.system import (
    SimulatedSystemCollector,
    SystemCollector,
    parse_chronyc_tracking,
    parse_timedatectl,
    pick_temperature,
)
from edge_agent.simulation import SimulatedBoard
from fleet_protocol.messages import HeartbeatData
from tests.support.clock import Clock

# ``chronyc -n tracking`` (chrony 4.3's layout) on a synchronised and on a fresh board
CHRONYC_SYNCED = """Reference ID    : A29FC87B (162.159.200.123)
Stratum         : 4
Ref time (UTC)  : Sat Nov 28 09:12:44 2026
System time     : 0.000231450 seconds fast of NTP time
Last offset     : +0.000118032 seconds
RMS offset      : 0.000301223 seconds
Frequency       : 2.113 ppm slow
Residual freq   : +0.004 ppm
Skew            : 0.119 ppm
Root delay      : 0.061321799 seconds
Root dispersion : 0.001274632 seconds
Update interval : 1031.2 seconds
Leap status     : Normal
"""
CHRONYC_UNSYNCED = """Reference ID    : 00000000 ()
Stratum         : 0
Ref time (UTC)  : Thu Jan 01 00:00:00 1970
System time     : 0.000000000 seconds fast of NTP time
Last offset     : +0.000000000 seconds
RMS offset      : 0.000000000 seconds
Frequency       : 0.000 ppm slow
Residual freq   : +0.000 ppm
Skew            : 0.000 ppm
Root delay      : 1.000000000 seconds
Root dispersion : 1.000000000 seconds
Update interval : 0.0 seconds
Leap status     : Not synchronised
"""


def test_heartbeat_on_this_machine() -> None:
    data = SystemCollector().collect()  # psutil reads every Linux: no NotPresent here
    assert isinstance(data, HeartbeatData)
    assert data.agent_version == __version__
    assert data.uptime_s > 0
    assert 0 < data.memory_percent < 100
    assert 0 < data.disk_percent <= 100
    assert (data.spool_pending, data.spool_dropped) == (0, 0)


class Reading(NamedTuple):
    label: str
    current: float


def test_pick_temperature_prefers_the_cpu() -> None:
    sensors = {
        "nvme": [Reading("Composite", 61.0)],
        "cpu_thermal": [Reading("", 52.5)],
    }
    assert pick_temperature(sensors) == 52.5
    assert pick_temperature({"nvme": [Reading("Composite", 61.0)]}) == 61.0
    assert (
        pick_temperature({"acpitz": [Reading("", -273.0)], "bogus": [Reading("", 511.0)]}) is None
    )
    assert pick_temperature({}) is None


def test_clock_state_parsers() -> None:
    assert parse_timedatectl("yes\n") is True
    assert parse_timedatectl("no\n") is False
    assert parse_timedatectl("") is None
    assert parse_chronyc_tracking(CHRONYC_SYNCED) is True
    assert parse_chronyc_tracking(CHRONYC_UNSYNCED) is False
    assert parse_chronyc_tracking("506 Cannot talk to daemon\n") is None


def tool(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_clock_state_without_tools_is_unknown(tmp_path: Path) -> None:
    collector = SystemCollector(
        timedatectl=str(tmp_path / "timedatectl"), chronyc=str(tmp_path / "chronyc")
    )
    assert collector.clock_synced() is None


def test_clock_state_falls_back_to_chrony(tmp_path: Path) -> None:
    # timedatectl without systemd as PID 1 fails exactly like this (recorded in a container)
    timedatectl = tool(
        tmp_path,
        "timedatectl",
        "cat >&2 <<'EOF'\n"
        "System has not been booted with systemd as init system (PID 1). Can't operate.\n"
        "Failed to connect to bus: Host is down\n"
        "EOF\n"
        "exit 1",
    )
    chronyc = tool(tmp_path, "chronyc", f"cat <<'EOF'\n{CHRONYC_UNSYNCED}EOF")
    assert SystemCollector(timedatectl=timedatectl, chronyc=chronyc).clock_synced() is False
    synced = tool(tmp_path, "timedatectl-ok", "echo yes")
    assert SystemCollector(timedatectl=synced, chronyc=chronyc).clock_synced() is True


def test_a_hanging_clock_tool_is_abandoned(tmp_path: Path) -> None:
    hanging = tool(tmp_path, "timedatectl", "exec sleep 60")
    collector = SystemCollector(
        timeout_s=0.3, timedatectl=hanging, chronyc=str(tmp_path / "chronyc")
    )
    started = time.monotonic()
    assert collector.clock_synced() is None
    assert time.monotonic() - started < 5


def test_simulated_heartbeat_follows_the_board() -> None:
    clock = Clock()
    board = SimulatedBoard(clock=clock.monotonic)
    collector = SimulatedSystemCollector(board)
    first = collector.collect()
    assert (first.uptime_s, first.agent_version, first.clock_synced) == (0, __version__, True)

    clock.advance(3600)
    board.disk_percent = 97.0
    board.temperature_c = 78.0
    later = collector.collect()
    assert later.uptime_s == 3600
    assert later.disk_percent == 97.0
    assert later.temperature_c is not None
    assert 76.0 <= later.temperature_c <= 80.0


def test_disk_of_a_spool_directory_not_created_yet(tmp_path: Path) -> None:
    data = SystemCollector(disk_path=tmp_path / "var" / "lib" / "fleet").collect()
    assert 0 < data.disk_percent <= 100
