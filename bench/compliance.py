"""Compliance benchmark: closing a broadcast day for a whole fleet.

Seeds --boards boards (the simulator's sites and windows) and one local day
of display samples every 30 s for each (2,880 per board), then measures:

0. the same-run baseline (issue 20): a bare read of the same day's samples
   from PostgreSQL — the same rows through the same index, in batches of the
   job's size, on the same connection — that computes nothing (it counts
   them): the floor of any computation over that day. Measured before and
   after the job, and averaged;
1. the daily close: ComplianceJob.compute for every board of that day (the
   engine does this once after local midnight), with the play log rebuilt;
2. late data: 10 boards' replayed samples for that day, found through
   ``stored_at`` and measured again (what each engine run does);
3. today's refresh: every board's running figures at midday.

Ratios (job ÷ bare read) come first, then ms per board-day (wall clock, and
the PostgreSQL backend's CPU time, which other work on the machine disturbs
far less), then a 10,000-board day extrapolated from the daily close.

    .venv/bin/python -m bench.compliance --boards 1000
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from bench.baseline import ratio
from bench.database import machine, main_with_boards, migrated_database
from fleet_server.compliance import storage
from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings
from fleet_server.localtime import LOCAL_TZ, LOCAL_TZ_NAME
from fleet_server.simulator.seed import fleet_specs, seed

DAY = date(2026, 11, 20)
EVERY_S = 30
FLEET = 10_000

# The floor: the same rows (each board-day's samples from the gap before
# local midnight to the next), through the same index, every column the job
# reads fetched, nothing computed.
_BARE_READ = """
WITH target AS (
    SELECT d.board_id,
           (d.day::timestamp AT TIME ZONE %(tz)s) AS day_start,
           ((d.day + 1)::timestamp AT TIME ZONE %(tz)s) AS day_end
      FROM unnest(%(boards)s::text[], %(days)s::date[]) AS d (board_id, day)
)
SELECT count(*), count(s.boot), count(s.seq), count(s.screen_on), count(s.player_running),
       count(s.content_id), count(s.content_kind), count(s.content_sha256),
       count(s.content_language), count(s.content_started_at)
  FROM target t
 CROSS JOIN LATERAL (
    SELECT x.boot, x.seq, x.screen_on, x.player_running, x.content_id, x.content_kind,
           x.content_sha256, x.content_language, x.content_started_at
      FROM telemetry_display x
     WHERE x.device_id = t.board_id
       AND x.measured_at >= t.day_start - make_interval(secs => %(gap)s)
       AND x.measured_at < t.day_end
 ) s
"""


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


def _prepare(conn: psycopg.Connection[Any], boards: int) -> tuple[list[str], int, float]:
    seed(conn, fleet_specs(boards))
    conn.execute("UPDATE boards SET installed_on = '2026-01-01'")
    # The six files of the load, approved (Điều 8.1 counts registry items).
    conn.execute(
        "INSERT INTO content_items (title, kind, language, sha256, valid_from, approved_by)"
        " SELECT 'item-' || k, CASE WHEN k = 0 THEN 'advertising' ELSE 'propaganda' END,"
        "        'vi', encode(sha256(('f' || k)::bytea), 'hex'), '2026-01-01', 'bench'"
        "   FROM generate_series(0, 5) AS k ON CONFLICT (sha256) DO NOTHING"
    )
    ids = [r[0] for r in conn.execute("SELECT id FROM boards ORDER BY id")]
    t0 = time.perf_counter()
    rows = _load(conn, ids)
    load_s = time.perf_counter() - t0
    conn.execute("VACUUM ANALYZE telemetry_display")
    return ids, rows, load_s


class _Clock:
    """Wall time and the PostgreSQL backend's CPU time (the embedded server
    runs on this machine: /proc/<pid>/stat)."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        self._stat = Path(f"/proc/{row[0]}/stat")
        conn.commit()

    def _cpu(self) -> float:
        fields = self._stat.read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @contextmanager
    def measure(self, into: dict[str, float]) -> Iterator[None]:
        cpu, wall = self._cpu(), time.perf_counter()
        yield
        into["wall_s"] = time.perf_counter() - wall
        into["cpu_s"] = self._cpu() - cpu


def _bare_read(conn: psycopg.Connection[Any], boards: list[str], batch: int) -> int:
    """The floor: each batch's samples read and counted, nothing else."""
    rows = 0
    for i in range(0, len(boards), batch):
        chunk = boards[i : i + batch]
        found = conn.execute(
            _BARE_READ,
            {"tz": LOCAL_TZ_NAME, "boards": chunk, "days": [DAY] * len(chunk), "gap": 120.0},
        ).fetchone()
        rows += found[0] if found else 0
    conn.commit()
    return rows


def _timed(clock: _Clock, work: Callable[[], object]) -> dict[str, float]:
    figures: dict[str, float] = {}
    with clock.measure(figures):
        work()
    return figures


def _per_board_ms(figures: dict[str, float], boards: int) -> dict[str, float]:
    return {
        "wall_ms": round(1000 * figures["wall_s"] / boards, 2),
        "postgres_cpu_ms": round(1000 * figures["cpu_s"] / boards, 2),
    }


def _mean(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: (a[k] + b[k]) / 2 for k in a}


def _late_data(
    conn: psycopg.Connection[Any], job: ComplianceJob, boards: list[str]
) -> dict[str, float]:
    """Ten boards replay samples for that day; found and measured again."""
    midnight = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
    since = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    conn.commit()
    conn.execute(
        "UPDATE telemetry_display SET stored_at = now()"
        " WHERE device_id = ANY(%s) AND measured_at < %s",
        (boards[:10], midnight - timedelta(hours=20)),
    )
    conn.commit()
    t0 = time.perf_counter()
    db_now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    pairs = storage.dirty_pairs(conn, since, db_now, 120)
    found = time.perf_counter() - t0
    job.compute(conn, [p for p in pairs if p[1] == DAY], midnight + timedelta(days=1))
    conn.commit()
    return {
        "late_data_find_s": round(found, 3),
        "late_data_10_boards_s": round(time.perf_counter() - t0, 3),
    }


def run(args: argparse.Namespace) -> dict[str, object]:
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    with migrated_database("fleet-compliance-bench-") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            boards, rows, load_s = _prepare(conn, args.boards)
        settings = ComplianceSettings()
        job = ComplianceJob(settings)
        midnight = datetime.combine(DAY + timedelta(days=1), datetime.min.time(), tzinfo=LOCAL_TZ)
        pairs = [(b, DAY) for b in boards]
        n = len(boards)
        with psycopg.connect(url) as conn:
            clock = _Clock(conn)
            _bare_read(conn, boards, settings.batch)  # warm the cache as the job will find it
            before = _timed(clock, lambda: _bare_read(conn, boards, settings.batch))

            def close(now: datetime) -> None:
                job.compute(conn, pairs, now)
                conn.commit()

            daily = _timed(clock, lambda: close(midnight + timedelta(hours=8)))
            statuses: dict[str, int] = dict(
                conn.execute("SELECT status, count(*) FROM compliance_days GROUP BY 1").fetchall()
            )
            plays = conn.execute("SELECT count(*) FROM play_log").fetchone()
            conn.commit()
            late = _late_data(conn, job, boards)
            today = _timed(clock, lambda: close(midnight - timedelta(hours=12)))
            after = _timed(clock, lambda: _bare_read(conn, boards, settings.batch))
        bare = _mean(before, after)
        return {
            "ratio_to_bare_read": {
                "daily_close": ratio(daily["wall_s"], bare["wall_s"], 1),
                "daily_close_postgres_cpu": ratio(daily["cpu_s"], bare["cpu_s"], 1),
                "today_refresh": ratio(today["wall_s"], bare["wall_s"], 1),
                "today_refresh_postgres_cpu": ratio(today["cpu_s"], bare["cpu_s"], 1),
            },
            "per_board_day": {
                "bare_read": _per_board_ms(bare, n),
                "daily_close": _per_board_ms(daily, n),
                "today_refresh": _per_board_ms(today, n),
            },
            f"fleet_{FLEET}_daily_close_s": round(daily["wall_s"] * FLEET / n, 1),
            f"fleet_{FLEET}_bare_read_s": round(bare["wall_s"] * FLEET / n, 1),
            "boards": n,
            "display_rows": rows,
            "load_s": round(load_s, 1),
            "daily_close_s": round(daily["wall_s"], 2),
            **late,
            "today_refresh_s": round(today["wall_s"], 2),
            "bare_read_s": [round(before["wall_s"], 3), round(after["wall_s"], 3)],
            "statuses": statuses,
            "play_log_rows": plays[0] if plays else 0,
            "load_average_at_start": load_at_start,
            "machine": machine(),
        }


def main() -> None:
    main_with_boards(run, __doc__, 1000)


if __name__ == "__main__":
    main()
