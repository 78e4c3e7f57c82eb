"""One message drill from start to figures: boards and load up, the fault
(done by the drill), the wait for the backlog, the count.

    with Run(ctx, "broker_kill") as run:
        run.add_boards(4)
        run.start()
        ...  # break something; set run.fault_end when it is repaired
        return run.finish()
"""

from __future__ import annotations

import json
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg

from bench.drill_accounting import (
    Key,
    outcome,
    publisher_ledger,
    read_dead_letters,
    read_stored,
    settle,
)
from bench.drill_boards import Board
from bench.drill_link import Link
from bench.drill_publisher import board_names
from bench.drill_stack import Cluster, Proc, Stack, board_ids, provision, spawn, wait_until
from edge_agent.config import SpoolConfig


@dataclass(frozen=True)
class Scale:
    """Counts and durations of a run; ``--quick`` shrinks them for the smoke test."""

    agents: int = 4
    interval_s: float = 0.04  # every collector of every agent: 5 kinds -> 125 msg/s an agent
    warmup_s: float = 10
    after_s: float = 15  # load kept up after the fault ended
    settle_timeout_s: float = 240
    stall_s: float = 60
    ingest_down_s: float = 5
    broker_down_s: float = 30
    backlog_s: float = 20  # broker_kill_backlog: PostgreSQL down before the kill
    pg_down_s: float = 60
    pg_rate: float = 5000
    pg_boards: int = 100
    offline_s: float = 600
    disk_mb: int = 16
    disk_full_s: float = 60
    clock_hold_s: float = 30
    notice_deadline_s: float = 90  # after the sending lease


FULL = Scale()
QUICK = Scale(
    agents=2,
    interval_s=0.1,
    warmup_s=4,
    after_s=5,
    settle_timeout_s=60,
    stall_s=20,
    ingest_down_s=2,
    broker_down_s=5,
    backlog_s=5,
    pg_down_s=10,
    pg_rate=500,
    pg_boards=20,
    offline_s=20,
    disk_mb=8,
    disk_full_s=10,
    clock_hold_s=8,
    notice_deadline_s=60,
)


@dataclass
class Ctx:
    work: Path
    cluster: Cluster
    scale: Scale


class Run:
    def __init__(self, ctx: Ctx, name: str) -> None:
        self.ctx = ctx
        self.name = name
        self.scale = ctx.scale
        self.started = time.time()
        self.stack = Stack(ctx.work / name, ctx.cluster, name)
        self.boards: list[Board] = []
        self.links: list[Link] = []
        self.publisher: Proc | None = None
        self.publisher_names: list[str] = []
        self.ingest: Proc | None = None
        self.fault_end: float | None = None
        self.affected: set[str] | None = None
        self.notes: dict[str, Any] = {}

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        for board in self.boards:
            board.stop()
        if self.publisher is not None:
            self.publisher.stop(30)
        for link in self.links:
            link.close()
        self.stack.close()

    @property
    def ledger_path(self) -> Path:
        return self.stack.work / "publisher.txt"

    # -- setting up ---------------------------------------------------------------------
    def add_boards(
        self,
        count: int,
        *,
        interval_s: float | None = None,
        link: bool = False,
        spool_dir: Path | None = None,
        clock_file: Path | None = None,
    ) -> list[Board]:
        taken = len(self.boards)
        added = []
        for device, _cameras in board_ids(taken + count)[taken:]:
            board = Board(
                device,
                self.stack,
                interval_s or self.scale.interval_s,
                link=Link(self.stack.broker.port) if link else None,
                spool_dir=spool_dir,
                clock_file=clock_file,
            )
            if board.link is not None:
                self.links.append(board.link)
            added.append(board)
        self.boards += added
        return added

    def add_publisher(self, boards: int, rate: float) -> None:
        self.publisher_names = board_names("lc-load", boards)
        delivery = agent_delivery()
        self.notes["publisher"] = {"boards": boards, "rate_offered": rate, "delivery": delivery}
        self._publisher_args = [
            "--port",
            str(self.stack.broker.port),
            "--boards",
            str(boards),
            "--rate",
            str(rate),
            "--ledger",
            str(self.ledger_path),
            "--delivery",
            delivery,
        ]

    def start(self) -> None:
        """Inventory, ingest, boards and load; returns once data flows."""
        provision(
            self.stack.db_url,
            [(b.device_id, ["cam1"]) for b in self.boards]
            + [(name, ["cam1"]) for name in self.publisher_names],
        )
        self.ingest = self.stack.ingest()
        self.stack.sampler.start()
        for board in self.boards:
            board.start()
        if self.publisher_names:
            self.publisher = self.stack.track(
                spawn(
                    "publisher",
                    [sys.executable, "-m", "bench.drill_publisher", *self._publisher_args],
                    self.stack.work / "publisher.log",
                )
            )
        time.sleep(self.scale.warmup_s)
        with psycopg.connect(self.stack.db_url, autocommit=True) as conn:
            flowing = wait_until(
                lambda: (
                    conn.execute("SELECT count(*) FROM telemetry_heartbeat").fetchone()
                    not in (None, (0,))
                ),
                30,
                0.5,
            )
        if not flowing:
            raise RuntimeError(f"{self.name}: nothing stored after the warm-up")

    # -- the count ----------------------------------------------------------------------
    def generated(self) -> dict[Key, float]:
        result: dict[Key, float] = {}
        for board in self.boards:
            result.update(board.ledger())
        if self.publisher_names:
            result.update(publisher_ledger(self.ledger_path, self.publisher_names))
        return result

    def finish(self, **extra: Any) -> dict[str, Any]:
        """Stop generating, wait for the backlog, stop everything, count."""
        db_url = self.stack.db_url
        cutoff = time.time()
        if self.publisher is not None:
            self.publisher.signal(signal.SIGUSR1)
        time.sleep(1.5)  # the last spool transactions before the cut-off commit
        target = {k for k, t in self.generated().items() if t <= cutoff}

        def dead_keys() -> set[Key]:
            return set(read_dead_letters(db_url)[0])

        settled = settle(
            db_url,
            target,
            dead_keys,
            timeout=self.scale.settle_timeout_s,
            stall=self.scale.stall_s,
        )
        exits = {b.device_id: b.stop() for b in self.boards}
        spooled: set[Key] = set()
        for board in self.boards:
            spooled |= board.spooled()
        load: dict[str, Any] = {}
        if self.publisher is not None:
            self.publisher.stop(60)
            summary = json.loads(Path(f"{self.ledger_path}.json").read_text())
            names = summary["boards"]
            spooled |= {(names[n % len(names)], 1, n // len(names)) for n in summary["spooled"]}
            load["publisher_connects"] = summary["connects"]
        if self.ingest is not None:
            self.ingest.stop(30)
        generated = self.generated()
        stored = read_stored(db_url)
        dead, reasons = read_dead_letters(db_url)
        result: dict[str, Any] = {"drill": self.name}
        result.update(
            outcome(
                generated,
                stored,
                dead,
                spooled,
                cutoff=cutoff,
                fault_end=self.fault_end,
                affected=self.affected,
            )
        )
        result["peak_rss_mb"] = self.stack.sampler.stop()
        result["ok"] = (
            result["lost"] == 0 and result["duplicate_rows"] == 0 and result["dead_lettered"] == 0
        )
        load.update(self._load(generated, cutoff))
        result["load"] = load
        result["settle"] = settled
        result["agents"] = {
            "count": len(self.boards),
            "crashes": {b.device_id: b.crashes for b in self.boards if b.crashes},
            "starts": sum(b.starts for b in self.boards),
            "exit_codes": sorted({str(code) for code in exits.values()}),
            "spool_dropped": sum(b.dropped() for b in self.boards),
        }
        if reasons:
            result["dead_letter_reasons"] = dict(reasons)
        result["longest_measurement_gap_s"] = self._gaps()
        result.update(self.notes)
        result.update(extra)
        result["wall_s"] = round(time.time() - self.started, 1)
        return result

    def _load(self, generated: dict[Key, float], cutoff: float) -> dict[str, Any]:
        times = [t for t in generated.values() if t <= cutoff]
        span = (max(times) - min(times)) if len(times) > 1 else 0
        agents = {b.device_id for b in self.boards}
        return {
            "msgs_per_s": round(len(times) / span) if span else None,
            "from_agents": sum(1 for k, t in generated.items() if k[0] in agents and t <= cutoff),
            "from_publisher": sum(
                1 for k, t in generated.items() if k[0] not in agents and t <= cutoff
            ),
        }

    def _gaps(self) -> dict[str, float]:
        """Longest time between the measured_at of two stored heartbeats of
        each affected board (of every agent when the drill names none): how
        long nothing was measured, or measured and lost."""
        devices = sorted(self.affected or {b.device_id for b in self.boards})
        gaps: dict[str, float] = {}
        with psycopg.connect(self.stack.db_url, autocommit=True) as conn:
            for device in devices:
                row = conn.execute(
                    """SELECT extract(epoch FROM max(gap)) FROM (
                         SELECT measured_at - lag(measured_at) OVER (ORDER BY measured_at) AS gap
                           FROM telemetry_heartbeat WHERE device_id = %s) g""",
                    (device,),
                ).fetchone()
                if row and row[0] is not None:
                    gaps[device] = round(float(row[0]), 1)
        return gaps


def agent_delivery() -> str:
    """How the agent of this tree deletes spooled messages by default
    (``spool.delivery``; ``puback`` before it existed): the publisher does
    the same."""
    field = SpoolConfig.model_fields.get("delivery")
    return str(field.default) if field is not None else "puback"


def skipped(name: str, reason: str) -> dict[str, Any]:
    return {"drill": name, "skipped": reason, "ok": None}
