"""Availability benchmark: the SQL functions every report, the API and the
dashboards use (migration 0016).

Seeds --boards boards (the simulator's sites), gives each two status
transitions a day for a year (lost for an hour each evening), a daily
maintenance window at a quarter of the sites, then times
fleet_board_availability / fleet_site_availability over a year, a month,
and a year for three sites.

Same-run baseline (issue 20): for each figure, a bare aggregate over the
same status-history rows on the same connection (count and newest
transition per board, or per site, in the same period: the rows read and
the rows returned, without the availability arithmetic, the maintenance
windows or the installation dates). ``ratio`` (function ÷ bare) comes first.

    .venv/bin/python -m bench.availability --boards 10000
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from bench.baseline import ratio
from bench.database import machine, main_with_boards, migrated_database
from fleet_server.simulator.seed import fleet_specs, seed

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
    return round(time.perf_counter() - t0, 3), len(rows)


_BARE = (
    "SELECT {key}, count(*), max(h.at) FROM board_status_history h"
    " JOIN boards b ON b.id = h.board_id"
    " WHERE h.at >= %s AND h.at < %s {where} GROUP BY {key}"
)


def _bare(
    conn: psycopg.Connection[Any],
    start: datetime,
    sites: list[int] | None = None,
    *,
    by_site: bool = False,
) -> tuple[float, int]:
    """The same rows, read and grouped without the availability arithmetic."""
    sql = _BARE.format(
        key="b.site_id" if by_site else "h.board_id",
        where="AND b.site_id = ANY(%s)" if sites else "",
    )
    return _timed(conn, sql, start, END, *([sites] if sites else []))


def run(args: argparse.Namespace) -> dict[str, object]:
    with migrated_database("fleet-availability-bench-") as url:
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
            bare = {
                "boards_year": _bare(conn, START),
                "sites_year": _bare(conn, START, by_site=True),
                "boards_month": _bare(conn, month),
                "three_sites_year": _bare(conn, START, sites),
            }
            fleet = conn.execute(
                "SELECT round((sum(up_s) / nullif(sum(up_s) + sum(down_s), 0))::numeric, 4)"
                " FROM fleet_board_availability(%s, %s, false)",
                (START, END),
            ).fetchone()
        return {
            "ratio_to_bare_read": {k: ratio(figures[k][0], bare[k][0]) for k in figures},
            "seconds_and_rows": figures,
            "baseline_bare_read_seconds_and_rows": bare,
            "boards": args.boards,
            "transitions": transitions,
            "load_s": load_s,
            "fleet_availability_without_maintenance": float(fleet[0]) if fleet else None,
            "machine": machine(),
        }


def main() -> None:
    main_with_boards(run, __doc__, 10_000, name="availability")


if __name__ == "__main__":
    main()
