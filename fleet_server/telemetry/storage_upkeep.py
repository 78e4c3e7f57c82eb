"""Rollups and retention on plain PostgreSQL (TimescaleDB does both with its
own policies: continuous aggregates and retention jobs, see migration 0003).

Retention never drops raw data younger than 190 days (Điều 10.1.a asks for
six months); hourly rollups are kept five years.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql

from fleet_server.db.migrate import storage_variant
from fleet_server.localtime import local_day
from fleet_server.logbundles import storage as log_bundles

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

MIN_RAW_DAYS = 190
ROLLUP_DAYS = 5 * 365 + 1
RAW_TABLES = (
    "telemetry_heartbeat",
    "telemetry_power",
    "telemetry_network",
    "telemetry_camera",
    "telemetry_display",
)
ROLLUP_TABLES = (
    "heartbeat_hourly",
    "power_hourly",
    "network_hourly",
    "camera_hourly",
    "display_hourly",
)


def is_plain(conn: Conn) -> bool:
    return storage_variant(conn) == "plain"


def refresh_rollups(conn: Conn, since: datetime, until: datetime) -> None:
    """Recompute the hourly rollups over [since, until) (plain PostgreSQL)."""
    conn.execute("SELECT fleet_refresh_rollups(%s, %s)", (since, until))


def apply_retention(conn: Conn, now: datetime, raw_days: int = MIN_RAW_DAYS) -> dict[str, int]:
    """Delete raw telemetry older than ``raw_days`` (never under 190) and
    rollups older than five years; return rows deleted per table."""
    if raw_days < MIN_RAW_DAYS:
        raise ValueError(f"raw telemetry must be kept at least {MIN_RAW_DAYS} days")
    deleted: dict[str, int] = {}
    for table in RAW_TABLES:
        cur = conn.execute(
            sql.SQL("DELETE FROM {} WHERE measured_at < %s").format(sql.Identifier(table)),
            (now - timedelta(days=raw_days),),
        )
        deleted[table] = cur.rowcount
    for table in ROLLUP_TABLES:
        cur = conn.execute(
            sql.SQL("DELETE FROM {} WHERE bucket < %s").format(sql.Identifier(table)),
            (now - timedelta(days=ROLLUP_DAYS),),
        )
        deleted[table] = cur.rowcount
    if any(deleted.values()):
        log.info("retention: %s", deleted)
    return deleted


def snapshot_retention(conn: Conn, now: datetime, keep_days: int) -> int:
    """Pictures taken more than ``keep_days`` ago, except each board's
    newest of the screen and of every camera (and a removed board's all)."""
    if keep_days < 1:
        raise ValueError("pictures must be kept at least a day")
    cur = conn.execute(
        """DELETE FROM snapshots s
            WHERE s.captured_at < %s
              AND (NOT EXISTS (SELECT 1 FROM boards b WHERE b.id = s.device_id)
                   OR s.id <> (SELECT l.id FROM snapshots l
                                WHERE l.device_id = s.device_id AND l.source = s.source
                                  AND l.camera_id = s.camera_id
                                ORDER BY l.captured_at DESC, l.id DESC LIMIT 1))""",
        (now - timedelta(days=keep_days),),
    )
    return cur.rowcount


def data_usage_retention(conn: Conn, now: datetime, keep_days: int) -> int:
    """Boards' days of 4G data usage more than ``keep_days`` before ``now``'s
    local day (the month's forecast needs this month and the week before)."""
    if keep_days < 62:
        raise ValueError("4G data usage must be kept at least 62 days")
    cur = conn.execute(
        "DELETE FROM board_data_usage WHERE day < %s",
        (local_day(now) - timedelta(days=keep_days),),
    )
    return cur.rowcount


#: Derived records of what was broadcast (docs/compliance.md): ordinary
#: tables on both storage variants, kept as long as the rollups.
DERIVED = (("play_log", "started_at"), ("compliance_days", "day"))
#: Days the boards' screen and camera pictures are kept (the ``snapshots``
#: table, an ordinary table on both variants); each board's newest picture
#: of every source is kept whatever its age.
SNAPSHOT_KEEP_DAYS = 30
#: Days the boards' log and diagnostics bundles are kept (``log_bundles``).
LOG_BUNDLE_KEEP_DAYS = 30
#: Days each board's daily 4G data usage is kept (``board_data_usage``): a
#: year's months and more, never under two (a month and its forecast's week).
DATA_USAGE_KEEP_DAYS = 400


def apply_derived_retention(
    conn: Conn,
    now: datetime,
    *,
    snapshot_keep_days: int = SNAPSHOT_KEEP_DAYS,
    log_bundle_keep_days: int = LOG_BUNDLE_KEEP_DAYS,
    data_usage_keep_days: int = DATA_USAGE_KEEP_DAYS,
) -> dict[str, int]:
    """Delete proof-of-play and compliance rows older than five years, and
    pictures older than ``snapshot_keep_days`` (but each board's newest of
    the screen and of every camera), log bundles older than ``log_bundle_keep_days``,
    boards' days of 4G data usage older than ``data_usage_keep_days``."""
    deleted: dict[str, int] = {}
    for table, column in DERIVED:
        cur = conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} < %s").format(
                sql.Identifier(table), sql.Identifier(column)
            ),
            (now - timedelta(days=ROLLUP_DAYS),),
        )
        deleted[table] = cur.rowcount
    deleted["snapshots"] = snapshot_retention(conn, now, snapshot_keep_days)
    deleted["log_bundles"] = log_bundles.retention(conn, now, log_bundle_keep_days)
    deleted["board_data_usage"] = data_usage_retention(conn, now, data_usage_keep_days)
    if any(deleted.values()):
        log.info("retention: %s", deleted)
    return deleted
