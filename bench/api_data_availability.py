"""The availability days of the loaded history (migration 0050), stored
once by the engine job's own fill (``fleet_server.availability.days``) over
every closed local day of the boards' history, so that a loaded database
needs no reload: the step runs when ``bench_meta`` has no row
``AVAILABILITY_KEY``. Each day is one transaction; an interrupted run goes on
where it stopped, and two runs at once share the days (the state row)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any

import psycopg

from fleet_server.availability import days

Conn = psycopg.Connection[Any]

AVAILABILITY_KEY = "availability-days-v1"


def load_availability_days(conn: Conn, now: datetime, report: Any) -> dict[str, float]:
    """Fill the closed days unless ``bench_meta`` says they are there.
    ``conn`` in autocommit mode."""
    done = "SELECT 1 FROM bench_meta WHERE key = %s"
    if conn.execute(done, (AVAILABILITY_KEY,)).fetchone():
        return {}
    t0 = time.monotonic()
    filled = days.fill(conn, now)
    seconds = time.monotonic() - t0
    report(f"extras: availability days ({len(filled)})", seconds)
    conn.execute("ANALYZE board_availability_days")
    conn.execute(
        "INSERT INTO bench_meta VALUES (%s, %s) ON CONFLICT (key) DO NOTHING",
        (AVAILABILITY_KEY, json.dumps({"at": now.isoformat(), "days": len(filled)})),
    )
    return {"availability days": seconds}
