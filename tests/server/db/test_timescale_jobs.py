"""TimescaleDB's jobs on a migrated database (migration 0003's policies):
compression, retention and the rollups' refresh run without failing, and a
late or redelivered reading still lands once in a compressed chunk.

Skipped unless the test PostgreSQL preloads TimescaleDB. The policies measure
ages from the database's clock, so the readings are placed from now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

import fleet_protocol as fp
from fleet_server.telemetry.storage import Accepted, BatchWriter
from tests.support import messages as m

Conn = psycopg.Connection[Any]

POLICIES = ("policy_compression", "policy_retention", "policy_refresh_continuous_aggregate")


def store(conn: Conn, now: datetime, *messages: tuple[str, bytes]) -> None:
    accepted = [Accepted(fp.decode(t, p), now, t, p) for t, p in messages]  # type: ignore[arg-type]
    BatchWriter(conn).write(accepted, [])


def run_policies(owner: Conn) -> int:
    """Run every compression, retention and rollup job now, as the scheduler
    would; how many ran. A failing job raises here."""
    jobs = owner.execute(
        "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = ANY(%s) ORDER BY job_id",
        (list(POLICIES),),
    ).fetchall()
    for (job,) in jobs:
        owner.execute("CALL run_job(%s)", (job,))
    return len(jobs)


def heartbeats(conn: Conn, since: datetime, until: datetime) -> list[int]:
    rows = conn.execute(
        "SELECT seq FROM telemetry_heartbeat WHERE measured_at >= %s AND measured_at < %s"
        " ORDER BY seq",
        (since, until),
    ).fetchall()
    return [int(seq) for (seq,) in rows]


def test_policies_run_and_late_readings_land_once_in_compressed_chunks(
    timescale: None, db: Conn, db_owner: Conn
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    hour = (now - timedelta(days=10)).replace(minute=0, second=0)
    expired = now - timedelta(days=200)
    store(
        db,
        now,
        *(m.heartbeat(seq=i, at=hour + timedelta(minutes=i)) for i in range(1, 4)),
        m.camera(seq=1, at=hour + timedelta(minutes=1)),
        m.heartbeat(seq=9, at=expired),
        m.heartbeat(seq=10, at=now - timedelta(minutes=5)),
    )

    # 5 hypertables x (compression, retention) + 5 rollups x (refresh, retention)
    assert run_policies(db_owner) == 20
    compressed = db_owner.execute(
        "SELECT hypertable_name FROM timescaledb_information.chunks"
        " WHERE is_compressed AND range_start <= %s AND range_end > %s ORDER BY 1",
        (hour, hour),
    ).fetchall()
    assert compressed == [("telemetry_camera",), ("telemetry_heartbeat",)]
    assert heartbeats(db, expired - timedelta(days=1), expired + timedelta(days=1)) == []

    # an agent's spool delivers a redelivered and a late reading of that hour
    store(
        db,
        now,
        m.heartbeat(seq=2, at=hour + timedelta(minutes=2)),
        m.heartbeat(seq=4, at=hour + timedelta(minutes=30)),
        m.camera(seq=1, at=hour + timedelta(minutes=1)),
    )
    assert heartbeats(db, hour, hour + timedelta(hours=1)) == [1, 2, 3, 4]
    cameras = db.execute(
        "SELECT count(*) FROM telemetry_camera WHERE measured_at >= %s AND measured_at < %s",
        (hour, hour + timedelta(hours=1)),
    ).fetchone()
    assert cameras == (2,)

    db_owner.execute(
        "CALL refresh_continuous_aggregate('heartbeat_hourly', %s, %s)",
        (hour, hour + timedelta(hours=1)),
    )
    samples = db.execute(
        "SELECT samples FROM heartbeat_hourly WHERE bucket = %s", (hour,)
    ).fetchone()
    assert samples == (4,)
