"""The diagnostics report: one JSON document of what a technician asks first.

- ``agent``: version, boot, uptime, whether simulated, Python;
- ``host``: the controller's boot time, CPU, load, memory, the spool's disk,
  temperatures, and the clock (``timedatectl``);
- ``spool``: messages waiting and dropped, whether it can be written;
- ``collectors``: each kind's last reading as sent, the failing and absent ones;
- ``tools``: the raw answers of the board's tools (``upsc``, ``mmcli`` for
  the modem and its signal, ``timedatectl``), at most 4 KB each;
- ``update``: the last update's state (edge_agent.update);
- ``config``: the configuration in force, every secret-looking value ``***``.

Every text in it goes through the redactor, so a secret inside a tool's
answer or a reading is removed too.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psutil

from edge_agent.config import AgentConfig
from edge_agent.diagnostics.journal import Runner, run_tool
from edge_agent.diagnostics.redaction import scrub
from edge_agent.errors import CollectorError
from edge_agent.update.state import StateFile

#: The most kept of one tool's answer.
MAX_TOOL_CHARS = 4096


@dataclass(frozen=True)
class BoardState:
    """What the agent's loop knows, copied on its thread when asked."""

    device_id: str
    agent_version: str
    boot: int
    uptime_s: int
    simulated: bool
    config: AgentConfig
    spool: dict[str, Any]
    #: kind → {"at": ISO time, "data": the reading as sent}
    readings: dict[str, dict[str, Any]] = field(default_factory=dict)
    failing: dict[str, str] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    halted: str | None = None
    config_version: int = -1


def tools(config: AgentConfig) -> dict[str, list[str]]:
    """The board's tools worth asking, by name."""
    found: dict[str, list[str]] = {"timedatectl": ["timedatectl", "show"]}
    if config.power.ups:
        found["upsc"] = ["upsc", config.power.ups]
    if config.network.lte:
        found["mmcli_modem"] = ["mmcli", "-m", "any"]
        found["mmcli_signal"] = ["mmcli", "-m", "any", "--signal-get"]
    return found


def _tool_output(argv: Sequence[str], timeout_s: float, run: Runner) -> dict[str, Any]:
    try:
        code, out, err = run(argv, timeout_s)
    except CollectorError as exc:
        return {"error": str(exc)[:300]}
    answer: dict[str, Any] = {"exit": code, "stdout": out[-MAX_TOOL_CHARS:]}
    if err.strip():
        answer["stderr"] = err[-1024:]
    return answer


def _host(config: AgentConfig) -> dict[str, Any]:
    memory = psutil.virtual_memory()
    host: dict[str, Any] = {
        "platform": platform.platform(),
        "boot_time": datetime.fromtimestamp(psutil.boot_time(), UTC).isoformat(),
        "cpu_percent": psutil.cpu_percent(interval=None),
        "cpu_count": psutil.cpu_count(),
        "load_average": list(os.getloadavg()),
        "memory": {"total": memory.total, "available": memory.available, "percent": memory.percent},
        "now": datetime.now(UTC).isoformat(),
        "monotonic_s": round(time.monotonic(), 1),
    }
    spool_dir = config.spool_path.parent
    try:
        disk = psutil.disk_usage(str(spool_dir))
        host["disk"] = {"path": str(spool_dir), "total": disk.total, "free": disk.free}
        host["disk"]["percent"] = disk.percent
    except OSError as exc:
        host["disk"] = {"path": str(spool_dir), "error": exc.strerror or str(exc)}
    sensors = getattr(psutil, "sensors_temperatures", None)
    if sensors is not None:
        try:
            host["temperatures"] = {
                chip: [round(r.current, 1) for r in readings]
                for chip, readings in sensors().items()
            }
        except (OSError, RuntimeError) as exc:  # no /sys/class/hwmon in a container
            host["temperatures"] = {"error": str(exc)[:200]}
    return host


def _update(config: AgentConfig) -> dict[str, Any] | None:
    record = StateFile(config.update.state_path).load()
    if record is None:
        return None
    return {
        "state": record.state,
        "version": record.version,
        "previous": record.previous,
        "rollout_id": record.rollout_id,
        "reason": record.reason,
        "boot_attempts": record.boot_attempts,
        "reported": record.reported,
    }


def _redacted(value: Any, redact: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): _redacted(v, redact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(v, redact) for v in value]
    return value


def build_report(
    state: BoardState, redact: Callable[[str], str], *, run: Runner = run_tool
) -> dict[str, Any]:
    """The report (see the module), every text redacted."""
    config = state.config
    timeout = min(config.diagnostics.timeout_s, 10.0)
    spool_file = config.spool_path
    spool = dict(state.spool)
    try:
        spool["file_bytes"] = spool_file.stat().st_size
    except OSError:
        spool["file_bytes"] = None
    report: dict[str, Any] = {
        "agent": {
            "device_id": state.device_id,
            "version": state.agent_version,
            "boot": state.boot,
            "uptime_s": state.uptime_s,
            "simulated": state.simulated,
            "halted": state.halted,
            "config_version": state.config_version,
            "python": sys.version.split()[0],
        },
        "host": _host(config),
        "spool": spool,
        "collectors": {
            "readings": state.readings,
            "failing": state.failing,
            "absent": state.absent,
        },
        "tools": {name: _tool_output(argv, timeout, run) for name, argv in tools(config).items()},
        "update": _update(config),
        "config": scrub(config.model_dump(mode="json")),
    }
    return dict(_redacted(report, redact))
