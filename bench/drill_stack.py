"""The real components a fault drill runs and breaks (docs/reliability.md).

Mosquitto from ``broker/dev.conf`` (persistence on), an embedded PostgreSQL
(fsync on) with a fresh migrated database per drill, ``fleet-server ingest``
and ``engine`` processes, ``edge-agent`` processes with their spools, and a
peak-memory sampler over all of them. Every process is started by the
harness and only ever stopped through its own handle.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.places import PLACES
from fleet_server.simulator.seed import fleet_specs, seed
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEMPLATE_DB = "drill_template"


def wait_until(check: Callable[[], object], timeout: float, step: float = 0.1) -> bool:
    """Poll ``check()`` until it is true or ``timeout`` seconds passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return bool(check())


class Broker(Mosquitto):
    """Mosquitto from broker/dev.conf that a drill may also kill -9."""

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None


class Cluster:
    """One embedded PostgreSQL for the whole run (fsync on, like production);
    each drill gets a database cloned from a migrated template."""

    def __init__(self, work: Path) -> None:
        self.pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
        self.pg.initialise()
        self.pg.start()
        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(TEMPLATE_DB)))
        migrate(self.pg.url(TEMPLATE_DB))

    def database(self, name: str) -> str:
        with psycopg.connect(self.pg.url(), autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(TEMPLATE_DB)
                )
            )
        return self.pg.url(name)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.pg.data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None

    def close(self) -> None:
        self.pg.stop(mode="immediate")


def board_ids(count: int, prefix: str | None = None) -> list[tuple[str, list[str]]]:
    """Board ids and cameras: the simulator's inventory, or ``<prefix>-NNNN``
    boards with one camera (the multi-board publisher's)."""
    if prefix is None:
        return [(b.device_id, b.cameras) for _, b in fleet_specs(count)]
    return [(f"{prefix}-{i:04d}", ["cam1"]) for i in range(count)]


def provision(db_url: str, boards: list[tuple[str, list[str]]]) -> None:
    """Write the boards into the inventory (ingest refuses unknown boards)."""
    simulated = {b.device_id: (p, b) for p, b in fleet_specs(len(PLACES) * 20)}
    specs = [
        simulated.get(device) or (PLACES[0], BoardSpec(device, PLACES[0].code, cameras))
        for device, cameras in boards
    ]
    with psycopg.connect(db_url, autocommit=True) as conn:
        seed(conn, specs)


@dataclass
class Proc:
    """A process the drill started, with its role for the memory sampler."""

    role: str
    popen: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, signum: int) -> None:
        if self.alive():
            os.kill(self.popen.pid, signum)

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(10)

    def stop(self, timeout: float = 20) -> int | None:
        """SIGTERM and wait; SIGKILL if it does not go."""
        self.signal(signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return self.popen.poll()

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""


def spawn(role: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> Proc:
    """Start a process on the code of this tree (also when the virtualenv's
    editable install points at another checkout: see docs/reliability.md)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    env = dict(env or os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    with log.open("ab") as out:
        popen = subprocess.Popen(argv, cwd=REPO, env=env, stdout=out, stderr=out)
    return Proc(role, popen, log)


@dataclass
class MemorySampler:
    """Peak memory per role, sampled every ``every`` seconds: RSS of each
    process (the largest one of a role, e.g. of several agents), and for
    PostgreSQL the PSS summed over the postmaster and its backends (shared
    buffers counted once)."""

    every: float = 0.5
    procs: list[Proc] = field(default_factory=list)
    extra: dict[str, Callable[[], int | None]] = field(default_factory=dict)  # role -> pid
    peak: dict[str, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        return {role: round(mb, 1) for role, mb in sorted(self.peak.items())}

    def _note(self, role: str, mb: float) -> None:
        self.peak[role] = max(self.peak.get(role, 0.0), mb)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            for proc in list(self.procs):
                with contextlib.suppress(psutil.Error):
                    if proc.alive():
                        self._note(proc.role, psutil.Process(proc.pid).memory_info().rss / 2**20)
            for role, get_pid in self.extra.items():
                pid = get_pid()
                if pid is None:
                    continue
                with contextlib.suppress(psutil.Error):
                    root = psutil.Process(pid)
                    if role == "postgres":
                        tree = [root, *root.children(recursive=True)]
                        total = 0.0
                        for p in tree:
                            with contextlib.suppress(psutil.Error):
                                total += p.memory_full_info().pss
                        self._note(role, total / 2**20)
                    else:
                        self._note(role, root.memory_info().rss / 2**20)


class Stack:
    """One drill's broker, database and server processes."""

    def __init__(self, work: Path, cluster: Cluster, name: str) -> None:
        self.work = work
        self.cluster = cluster
        work.mkdir(parents=True, exist_ok=True)
        self.broker = Broker(work / "mosquitto")
        self.broker.start()
        self.db_url = cluster.database(f"drill_{name}")
        self.sampler = MemorySampler()
        self.sampler.extra["mosquitto"] = self.broker.pid
        self.sampler.extra["postgres"] = cluster.postmaster_pid
        self.procs: list[Proc] = []
        self.env = dict(
            os.environ,
            FLEET_ENVIRONMENT="development",
            FLEET_DATABASE_URL=self.db_url,
            FLEET_MQTT_URL=self.broker.url,
            FLEET_INGEST_REQUIRE_KNOWN_BOARD="true",
        )

    def track(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        self.sampler.procs.append(proc)
        return proc

    def server(self, role: str, name: str, **env: str) -> Proc:
        """``fleet-server <role>`` with the drill's environment."""
        return self.track(
            spawn(
                role,
                [str(BIN / "fleet-server"), "--log-level", "INFO", role],
                self.work / f"{name}.log",
                dict(self.env, **env),
            )
        )

    def ingest(self, name: str = "ingest") -> Proc:
        """An ingest process, waited for until it has subscribed."""
        before = (
            (self.work / f"{name}.log").stat().st_size
            if (self.work / f"{name}.log").exists()
            else 0
        )
        proc = self.server("ingest", name, FLEET_INGEST_CLIENT_ID=f"drill-{name}")

        def ready() -> bool:
            return "ingest connected" in proc.log_text()[before:] or not proc.alive()

        wait_until(ready, 60)
        if not proc.alive():
            raise RuntimeError(f"ingest did not start:\n{proc.log_text()[-2000:]}")
        return proc

    def close(self) -> None:
        self.sampler.stop()
        for proc in reversed(self.procs):
            proc.stop(10)
        self.broker.stop()


@contextlib.contextmanager
def stack(work: Path, cluster: Cluster, name: str) -> Iterator[Stack]:
    s = Stack(work, cluster, name)
    try:
        yield s
    finally:
        s.close()
