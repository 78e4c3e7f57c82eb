"""CPU accounting for bench.ingest's phases: per process group, and per message."""

from __future__ import annotations

import contextlib
import os
import time

import psutil


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _seconds(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return float(times.user + times.system)


class CpuWatch:
    """CPU seconds of named process groups over a phase. A group is a list of
    root pids with their children, counted as they come and go (PostgreSQL
    starts a backend per connection); one that ends within the phase is missed."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self._groups = groups
        self._start: dict[int, float] = {}
        for pids in groups.values():
            for pid in pids:
                for proc in _tree(pid):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        self._start[proc.pid] = _seconds(proc)
        psutil.cpu_percent(None)
        self._load = os.getloadavg()[0]
        self._t0 = time.monotonic()

    def seconds(self) -> dict[str, float]:
        used: dict[str, float] = {}
        for name, pids in self._groups.items():
            total = 0.0
            for pid in pids:
                for proc in _tree(pid):
                    with contextlib.suppress(psutil.NoSuchProcess):
                        total += _seconds(proc) - self._start.get(proc.pid, 0.0)
            used[name] = total
        return used

    def read(self, messages: int, consumers: list[str]) -> dict[str, object]:
        """Each group's % of one core, the machine's, and the consumers' CPU
        microseconds per message (``consumers``: the groups that receive)."""
        elapsed = max(time.monotonic() - self._t0, 1e-9)
        used = self.seconds()
        return {
            "percent_of_one_core": {n: round(s / elapsed * 100, 1) for n, s in used.items()},
            "machine_percent_all_cores": psutil.cpu_percent(None),
            "load_average_1m_start_end": [round(self._load, 2), round(os.getloadavg()[0], 2)],
            "consumer_cpu_us_per_message": round(
                sum(used[n] for n in consumers) / max(messages, 1) * 1e6, 1
            ),
            "cpu_us_per_message": {
                n: round(s / max(messages, 1) * 1e6, 1) for n, s in used.items()
            },
        }
