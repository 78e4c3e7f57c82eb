"""Telemetry series: one board, one kind, a time range, a bucket.

Ranges up to seven days read the raw tables; longer ones read the hourly
rollups (continuous aggregates on TimescaleDB, refreshed tables on plain
PostgreSQL; same names and columns), so a five-year chart never scans raw rows.
``date_bin`` buckets on both.
"""

from __future__ import annotations

from datetime import datetime

from fleet_server.access.principal import Principal
from fleet_server.access.scope import Scope
from fleet_server.boards.service import board_in_scope
from fleet_server.errors import Invalid
from fleet_server.telemetry import storage_series as storage
from fleet_server.telemetry.models import MAX_RANGE, RAW_LIMIT, pick_bucket
from fleet_server.telemetry.schemas import Series, SeriesPoint
from fleet_server.telemetry.storage_series import SERIES, Conn


def series(
    conn: Conn,
    user: Principal,
    board_id: str,
    kind: str,
    *,
    since: datetime,
    until: datetime,
    bucket_s: int | None = None,
) -> Series:
    """Bucketed values of one kind for one board in [since, until)."""
    user.need("telemetry.read")
    return series_in_scope(
        conn, user.scope, board_id, kind, since=since, until=until, bucket_s=bucket_s
    )


def series_in_scope(
    conn: Conn,
    scope: Scope,
    board_id: str,
    kind: str,
    *,
    since: datetime,
    until: datetime,
    bucket_s: int | None = None,
) -> Series:
    """:func:`series` for a board ``scope`` sees, whatever the caller's role
    (a camera's series is the Border Guard's too); the caller checked what
    the account may read."""
    if kind not in SERIES:
        raise Invalid(f"kind: one of {', '.join(SERIES)}")
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("since/until: give a time zone (e.g. 2026-11-28T08:00:00+07:00)")
    if until <= since:
        raise Invalid("until must be after since")
    if until - since > MAX_RANGE:
        raise Invalid("the range may span at most five years")
    board_in_scope(conn, scope, board_id)
    hourly = until - since > RAW_LIMIT
    bucket = pick_bucket(until - since, bucket_s, hourly=hourly)
    rows = storage.bucketed(
        conn, board_id, kind, since=since, until=until, bucket_s=bucket, hourly=hourly
    )
    names = storage.field_names(kind)
    return Series(
        board_id=board_id,
        kind=kind,
        since=since,
        until=until,
        bucket_s=bucket,
        source="hourly" if hourly else "raw",
        fields=names,
        points=[
            SeriesPoint(
                t=r["t"],
                camera_id=r.get("camera_id"),
                samples=int(r["samples"]),
                values={n: r[n] for n in names},
            )
            for r in rows
        ],
    )
