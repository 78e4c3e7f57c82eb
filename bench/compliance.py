"""Compliance benchmark: closing a broadcast day for a whole fleet.

Seeds --boards boards (the simulator's sites and windows) and one local day
of display samples every 30 s for each (2,880 per board), then measures:

1. the daily close: ComplianceJob.compute for every board of that day (the
   engine does this once after local midnight), with the play log rebuilt;
2. late data: 10 boards' replayed samples for that day, found through
   ``stored_at`` and measured again (what each engine run does);
3. today's refresh: every board's running figures at midday.

    .venv/bin/python -m bench.compliance --boards 1000
"""

from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from bench.database import machine, main_with_boards, migrated_database
from fleet_server.compliance import storage
from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings
from fleet_server.localtime import LOCAL_TZ
from fleet_server.simulator.seed import fleet_specs, seed

DAY = date(2026, 11, 20)
EVERY_S = 30


def _load(conn: psycopg.Connection[Any], boards: list[str]) -> int:
    """One day of samples per board, on from 06:00 to 20:00 local, off at night;
    the file changes every 10 minutes, advertising one slot in six."""
    start = datetime.combine(DAY, datetime.min.time(), tzinfo=LOCAL_TZ)
    conn.execute(
        "INSERT INTO telemetry_display (device_id, boot, seq, measured_at, sent_at, received_at,"
        " replay, screen_on, player_running, content_id, content_kind, content_sha256,"
        " content_language, content_started_at)"
        " SELECT b, 1, n, t, t, t, false, true, on_air,"
        "        CASE WHEN on_air THEN 'item-' || slot %% 6 END,"
        "        CASE WHEN NOT on_air THEN NULL WHEN slot %% 6 = 0 THEN 'advertising'"
        "             ELSE 'propaganda' END,"
        "        CASE WHEN on_air THEN encode(sha256(('f' || slot %% 6)::bytea), 'hex') END,"
        "        CASE WHEN on_air THEN 'vi' END,"
        "        CASE WHEN on_air THEN %(start)s + slot * interval '10 minutes' END"
        "   FROM unnest(%(boards)s::text[]) AS b,"
        "        generate_series(0, 2879) AS n,"
        "        LATERAL (SELECT %(start)s + n * interval '30 seconds' AS t) x,"
        "        LATERAL (SELECT n / 20 AS slot,"
        "                        n BETWEEN 720 AND 2399 AS on_air) y",
        {"start": start, "boards": boards},
    )
    return len(boards) * 2880


def run(args: argparse.Namespace) -> dict[str, object]:
    with migrated_database("fleet-compliance-bench-") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            seed(conn, fleet_specs(args.boards))
            conn.execute("UPDATE boards SET installed_on = '2026-01-01'")
            # The six files of the load, approved (Điều 8.1 counts registry items).
            conn.execute(
                "INSERT INTO content_items (title, kind, language, sha256, valid_from, approved_by)"
                " SELECT 'item-' || k, CASE WHEN k = 0 THEN 'advertising' ELSE 'propaganda' END,"
                "        'vi', encode(sha256(('f' || k)::bytea), 'hex'), '2026-01-01', 'bench'"
                "   FROM generate_series(0, 5) AS k ON CONFLICT (sha256) DO NOTHING"
            )
            boards = [r[0] for r in conn.execute("SELECT id FROM boards ORDER BY id")]
            t0 = time.perf_counter()
            rows = _load(conn, boards)
            load_s = time.perf_counter() - t0
            conn.execute("VACUUM ANALYZE telemetry_display")
        job = ComplianceJob(ComplianceSettings())
        now = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
        results: dict[str, object] = {}
        with psycopg.connect(url) as conn:
            t0 = time.perf_counter()
            job.compute(conn, [(b, DAY) for b in boards], now + timedelta(hours=8))
            conn.commit()
            results["daily_close_s"] = round(time.perf_counter() - t0, 2)
            statuses: dict[str, int] = dict(
                conn.execute("SELECT status, count(*) FROM compliance_days GROUP BY 1").fetchall()
            )
            plays = conn.execute("SELECT count(*) FROM play_log").fetchone()
            # late data: ten boards replay samples for that day
            since = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
            conn.commit()
            conn.execute(
                "UPDATE telemetry_display SET stored_at = now()"
                " WHERE device_id = ANY(%s) AND measured_at < %s",
                (boards[:10], now - timedelta(hours=20)),
            )
            conn.commit()
            t0 = time.perf_counter()
            db_now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
            pairs = storage.dirty_pairs(conn, since, db_now, 120)
            results["late_data_find_s"] = round(time.perf_counter() - t0, 3)
            t1 = time.perf_counter()
            job.compute(conn, [p for p in pairs if p[1] == DAY], now + timedelta(days=1))
            conn.commit()
            results["late_data_compute_s"] = round(time.perf_counter() - t1, 3)
            results["late_data_10_boards_s"] = round(time.perf_counter() - t0, 3)
            t0 = time.perf_counter()
            job.compute(conn, [(b, DAY) for b in boards], now - timedelta(hours=12))
            conn.commit()
            results["today_refresh_s"] = round(time.perf_counter() - t0, 2)
        return {
            "boards": len(boards),
            "display_rows": rows,
            "load_s": round(load_s, 1),
            **results,
            "statuses": statuses,
            "play_log_rows": plays[0] if plays else 0,
            "machine": machine(),
        }


def main() -> None:
    main_with_boards(run, __doc__, 1000)


if __name__ == "__main__":
    main()
