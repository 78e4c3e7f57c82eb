"""Real ``edge-agent`` processes for the drills, and what they generated.

Every agent runs ``edge-agent --config … run --simulate`` (the drill's clock
variant runs ``bench.drill_agent``, the same agent with a stepped clock) with
short collector intervals, restarted after ``RestartSec`` when it exits, as
systemd does with ``edge-agent.service`` (``Restart=always``,
``RestartSec=5``).

What a board generated is read from its own spool: before the agent first
starts, the harness creates the spool through the agent's ``Spool`` class
and adds a trigger that copies (boot, seq, topic, wall time) of every row
inserted into ``outbox`` into a ``drill_ledger`` table, in the same SQLite
transaction. A sample is in the ledger exactly when the spool committed it.
State messages (birth, will, clean offline) bypass the spool and are counted
apart, from ``board_states``.
"""

from __future__ import annotations

import contextlib
import signal
import sqlite3
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.drill_link import Link
from bench.drill_stack import BIN, Proc, Stack, spawn
from edge_agent.spool import Spool

RESTART_S = 5.0  # RestartSec= of edge_agent/systemd/edge-agent.service

_PAYLOAD = "CAST(NEW.payload AS TEXT)"
LEDGER_SQL = f"""
CREATE TABLE IF NOT EXISTS drill_ledger (
    boot INTEGER, seq INTEGER, topic TEXT NOT NULL, generated_at REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS drill_ledger_insert AFTER INSERT ON outbox BEGIN
    INSERT INTO drill_ledger (boot, seq, topic, generated_at) VALUES (
        CASE WHEN json_valid({_PAYLOAD}) THEN json_extract({_PAYLOAD}, '$.boot') END,
        CASE WHEN json_valid({_PAYLOAD}) THEN json_extract({_PAYLOAD}, '$.seq') END,
        NEW.topic,
        (julianday('now') - 2440587.5) * 86400.0
    );
END;
"""

Key = tuple[str, int, int]  # device, boot, seq


@dataclass
class Board:
    """One simulated board: its agent process, spool and uplink."""

    device_id: str
    stack: Stack
    interval_s: float
    link: Link | None = None
    spool_dir: Path | None = None
    clock_file: Path | None = None
    extra_toml: str = ""
    proc: Proc | None = None
    crashes: list[int | None] = field(default_factory=list)
    starts: int = 0
    _wanted: bool = False
    _planned_exit: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _thread: threading.Thread | None = None

    @property
    def work(self) -> Path:
        return self.stack.work / "boards" / self.device_id

    @property
    def spool_path(self) -> Path:
        return (self.spool_dir or self.work) / "spool.db"

    @property
    def config_path(self) -> Path:
        return self.work / "agent.toml"

    def _prepare(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        url = self.link.url if self.link else self.stack.broker.url
        every = self.interval_s
        self.config_path.write_text(
            f'device_id = "{self.device_id}"\nmqtt_url = "{url}"\n'
            f'spool_path = "{self.spool_path}"\nsimulate = true\nlog_level = "INFO"\n'
            f"[intervals]\nheartbeat = {every}\npower = {every}\nnetwork = {every}\n"
            f"camera = {every}\ndisplay = {every}\n{self.extra_toml}"
        )
        Spool(self.spool_path).close()  # the agent's own schema, whatever its version
        with contextlib.closing(sqlite3.connect(self.spool_path)) as db:
            db.executescript(LEDGER_SQL)

    # -- process control ----------------------------------------------------------------
    def start(self) -> None:
        """Start the agent and keep it running like systemd would."""
        if self.starts == 0:
            self._prepare()
        self._wanted = True
        self._launch()
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._supervise, name=f"systemd-{self.device_id}", daemon=True
            )
            self._thread.start()

    def _launch(self) -> None:
        if self.clock_file is not None:
            argv = [sys.executable, "-m", "bench.drill_agent", "--clock-file", str(self.clock_file)]
        else:
            argv = [str(BIN / "edge-agent")]
        argv += ["--config", str(self.config_path), "run", "--simulate"]
        with self._lock:
            self._planned_exit = False
            self.proc = self.stack.track(spawn("agent", argv, self.work / "agent.log"))
            self.starts += 1

    def _supervise(self) -> None:
        while True:
            time.sleep(0.2)
            with self._lock:
                proc, wanted, planned = self.proc, self._wanted, self._planned_exit
            if not wanted:
                return
            if proc is None or proc.alive():
                continue
            if not planned:
                self.crashes.append(proc.popen.returncode)
            time.sleep(RESTART_S)
            if self._wanted:
                self._launch()

    def kill(self) -> None:
        """kill -9 (power cut); the supervisor starts it again after RestartSec."""
        with self._lock:
            self._planned_exit = True
            proc = self.proc
        if proc is not None:
            proc.kill()

    def power_off(self) -> None:
        """kill -9 and stay down (no restart)."""
        with self._lock:
            self._wanted = False
            self._planned_exit = True
            proc = self.proc
        if proc is not None:
            proc.kill()

    def pause(self) -> None:
        if self.proc is not None:
            self.proc.signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc is not None:
            self.proc.signal(signal.SIGCONT)

    def stop(self) -> int | None:
        """Clean stop (SIGTERM), not restarted."""
        with self._lock:
            self._wanted = False
            self._planned_exit = True
            proc = self.proc
        if self._thread is not None:
            self._thread.join(RESTART_S + 2)
        return proc.stop(30) if proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.alive()

    # -- what it generated --------------------------------------------------------------
    def _read(self, query: str) -> list[tuple[Any, ...]]:
        uri = f"file:{self.spool_path}?mode=ro"
        for _ in range(20):
            try:
                with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=5)) as db:
                    return db.execute(query).fetchall()
            except sqlite3.OperationalError:
                time.sleep(0.1)  # e.g. locked for a checkpoint, or the disk is full
        return []

    def ledger(self) -> dict[Key, float]:
        """(device, boot, seq) -> wall time the spool committed it."""
        rows = self._read("SELECT boot, seq, generated_at FROM drill_ledger WHERE seq IS NOT NULL")
        return {(self.device_id, int(b), int(s)): float(t) for b, s, t in rows}

    def spooled(self) -> set[Key]:
        """What still waits in the outbox."""
        rows = self._read(
            "SELECT json_extract(CAST(payload AS TEXT), '$.boot'),"
            " json_extract(CAST(payload AS TEXT), '$.seq') FROM outbox"
        )
        return {(self.device_id, int(b), int(s)) for b, s in rows if s is not None}

    def pending(self) -> int:
        rows = self._read("SELECT count(*) FROM outbox")
        return int(rows[0][0]) if rows else -1

    def dropped(self) -> int:
        rows = self._read("SELECT value FROM meta WHERE key = 'dropped_total'")
        return int(rows[0][0]) if rows else 0
