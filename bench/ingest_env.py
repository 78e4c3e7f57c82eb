"""What bench.ingest runs against and records: the PostgreSQL server, a fresh
database per ingest round, the machine and the code measured."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
# What the ingest figure depends on; uncommitted changes there are named in the result.
MEASURED_PATHS = (
    "fleet_server/ingest",
    "fleet_server/telemetry",
    "fleet_protocol",
    "bench/ingest*",
)


@dataclass(frozen=True)
class Server:
    admin_url: str
    label: str
    pid: int | None  # the postmaster (embedded only): its CPU is measured

    def fresh_database(self, name: str) -> str:
        """Drop and create ``name``, migrated; its URL."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.admin_url.rsplit("/", 1)[0] + "/" + name
        migrate(url)
        return url


@contextlib.contextmanager
def postgres(work: Path) -> Iterator[Server]:
    """The embedded PostgreSQL (durable: fsync on), or FLEET_BENCH_DATABASE_URL's server."""
    admin = os.environ.get("FLEET_BENCH_DATABASE_URL")
    if admin:
        yield Server(admin, "FLEET_BENCH_DATABASE_URL", None)
        return
    pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
    pg.initialise()
    pg.start()
    try:
        pid = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
        yield Server(pg.url(), "embedded PostgreSQL 18 (fsync on)", pid)
    finally:
        pg.stop(mode="immediate")


def machine() -> str:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    return (
        f"{model}, {psutil.cpu_count()} cores, "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python {platform.python_version()}"
    )


def git_head() -> str:
    def git(*argv: str) -> str:
        done = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, check=False)
        return done.stdout.strip()

    dirty = git("diff", "HEAD", "--name-only", "--", *MEASURED_PATHS).split()
    head = git("rev-parse", "--short", "HEAD")
    return f"{head} + uncommitted: {', '.join(dirty)}" if dirty else head
