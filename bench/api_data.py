"""Six months of a 10,000-board fleet, written with set-based SQL (for the API
benchmark, ``bench/api.py``).

Everything is ``INSERT … SELECT`` over ``generate_series``: no Python loop per
row. ``setseed`` makes the random choices the same every run. Rows go in
time-major order where production writes them that way (raw telemetry and
rollups: every board's sample of one interval, then the next), so a board's
24 h of readings are spread over many heap pages as they would be.

The inventory reuses the simulator's organisations and the province's twelve
places (``fleet_server.simulator.places``): site *n* stands near place
``n % 12`` and belongs to that place's organisation, so the Economic Zone
Board runs the border gates (a third of the boards), the district committees
the rest, and the Border Guard watches the border cameras.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg

from bench.api_data_fleet import inventory_steps, late_steps
from bench.api_data_incidents import accounts_steps, incident_steps
from bench.api_data_telemetry import telemetry_steps
from bench.api_volumes import Volumes
from fleet_server.simulator.seed import seed

__all__ = ["Volumes", "load", "table_sizes", "unresolved_counts"]

Conn = psycopg.Connection[Any]


BULK = {
    "telemetry_heartbeat",
    "telemetry_power",
    "telemetry_network",
    "telemetry_camera",
    "telemetry_display",
    "heartbeat_hourly",
    "power_hourly",
    "network_hourly",
    "camera_hourly",
    "display_hourly",
}


def _drop_indexes(conn: Conn, table: str) -> list[str]:
    """Drop the table's constraints with indexes and its other indexes;
    return the statements that put them back as they were."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
        (table,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename = %s AND indexname <> ALL(%s)",
        (table, [c[0] for c in constraints]),
    ).fetchall()
    for name, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in constraints] + [
        str(d) for _, d in indexes
    ]


def load(
    conn: Conn,
    volumes: Volumes,
    now: datetime,
    password_hash: str,
    report: Callable[[str, float], None] = lambda _step, _s: None,
) -> dict[str, float]:
    """Write the fleet into a freshly migrated database. Returns seconds per step."""
    timings: dict[str, float] = {}
    conn.execute("SELECT setseed(0.2026)")
    t0 = time.monotonic()
    seed(conn, [])  # the simulator's organisations and approved content
    timings["organisations"] = time.monotonic() - t0
    # Accounts after tickets (audit reads them), before the telemetry.
    order = [
        *inventory_steps(volumes, now),
        *incident_steps(volumes, now),
        *accounts_steps(volumes, now),
        *late_steps(volumes, now),
        *telemetry_steps(volumes, now),
    ]
    base = {"now": now, "start": now - timedelta(days=volumes.days), "hash": password_hash}
    for name, sql_text, params in order:
        t0 = time.monotonic()
        table = name.split(" ")[0]
        with conn.transaction():
            # The big tables are filled without their indexes, which are then
            # built once from sorted data: the same schema, minutes sooner.
            rebuild = _drop_indexes(conn, table) if table in BULK else []
            for statement in (s for s in sql_text.split(";\n") if s.strip()):
                given = {**base, **params}
                used = {k: v for k, v in given.items() if f"%({k})s" in statement}
                conn.execute(statement, used)
            for statement in rebuild:
                conn.execute(statement)
        if name.endswith("audit_log"):
            _write_audit(conn)
        timings[name] = time.monotonic() - t0
        report(name, timings[name])
    t0 = time.monotonic()
    conn.execute("VACUUM (ANALYZE)")
    timings["vacuum analyze"] = time.monotonic() - t0
    report("vacuum analyze", timings["vacuum analyze"])
    return timings


#: Audit rows a transaction: the hash chain's trigger updates its one head row
#: for every row, and inside one transaction each update leaves a version the
#: next lookup must step over (196,000 rows in one statement ran for hours;
#: 2,000 a transaction take about 3 minutes).
AUDIT_CHUNK = 2_000


def _write_audit(conn: Conn) -> None:
    """Append the staged audit rows (temp table ``bench_audit``) in order."""
    row = conn.execute("SELECT count(*) FROM bench_audit").fetchone()
    for first in range(0, row[0] if row else 0, AUDIT_CHUNK):
        with conn.transaction():
            conn.execute(
                "INSERT INTO audit_log (at, actor, actor_user_id, action, target_type,"
                " target_id, address, detail) SELECT a_at, a_actor, a_uid, a_action, a_tt,"
                " a_tid, a_addr, a_detail FROM bench_audit"
                " WHERE n > %s AND n <= %s ORDER BY n",
                (first, first + AUDIT_CHUNK),
            )


TABLES = (
    "sites",
    "boards",
    "cameras",
    "board_status",
    "board_status_history",
    "board_latest",
    "incidents",
    "incident_events",
    "tickets",
    "ticket_events",
    "ticket_costs",
    "maintenance_windows",
    "users",
    "api_tokens",
    "audit_log",
    "telemetry_heartbeat",
    "telemetry_power",
    "telemetry_network",
    "telemetry_camera",
    "telemetry_display",
    "heartbeat_hourly",
    "power_hourly",
    "network_hourly",
    "camera_hourly",
    "display_hourly",
)


def table_sizes(conn: Conn) -> dict[str, dict[str, Any]]:
    """Rows (exact) and total size with indexes, per table."""
    out: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        row = conn.execute(
            f"SELECT count(*), pg_total_relation_size('{table}'),"
            f" pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}"
        ).fetchone()
        assert row is not None
        out[table] = {"rows": int(row[0]), "bytes": int(row[1]), "size": str(row[2])}
    return out


def unresolved_counts(conn: Conn) -> dict[str, int]:
    rows = conn.execute("SELECT state, count(*) FROM incidents GROUP BY 1").fetchall()
    return {str(s): int(n) for s, n in rows}
