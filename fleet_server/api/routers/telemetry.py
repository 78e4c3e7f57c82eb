"""/api/v1 telemetry series: one board, one kind, a time range, a bucket.

Ranges up to seven days read the raw tables; longer ones read the hourly
rollups (continuous aggregates on TimescaleDB, refreshed tables on plain
PostgreSQL; same names and columns), so a five-year chart never scans raw rows.
``date_bin`` buckets on both.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from psycopg.rows import dict_row
from pydantic import BaseModel

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.boards.service import board_in_scope
from fleet_server.errors import Invalid

router = APIRouter(tags=["telemetry"])

Kind = Literal["heartbeat", "power", "network", "camera", "display"]
Reader = Annotated[Principal, Depends(require("telemetry.read"))]

RAW_LIMIT = timedelta(days=7)
MAX_RANGE = timedelta(days=5 * 366)
MAX_POINTS = 5000
NICE_BUCKETS = (60, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 7 * 86400)

#: kind -> (raw table, hourly table, [(field, raw aggregate, hourly aggregate)])
SERIES: dict[str, tuple[str, str, list[tuple[str, str, str]]]] = {
    "heartbeat": (
        "telemetry_heartbeat",
        "heartbeat_hourly",
        [
            ("cpu_percent", "avg(cpu_percent)", "sum(cpu_avg * samples) / nullif(sum(samples), 0)"),
            ("memory_percent_max", "max(memory_percent)", "max(memory_max)"),
            ("disk_percent_max", "max(disk_percent)", "max(disk_max)"),
            ("temperature_c_max", "max(temperature_c)", "max(temperature_max)"),
        ],
    ),
    "power": (
        "telemetry_power",
        "power_hourly",
        [
            ("battery_percent_min", "min(battery_percent)", "min(battery_min)"),
            (
                "input_voltage_v",
                "avg(input_voltage_v)",
                "sum(voltage_avg * samples) / nullif(sum(samples), 0)",
            ),
            (
                "on_battery_share",
                "avg(on_battery::int)",
                "sum(on_battery_samples)::float8 / nullif(sum(samples), 0)",
            ),
            (
                "mains_lost_share",
                "avg((mains_present IS FALSE)::int)",
                "sum(mains_lost_samples)::float8 / nullif(sum(samples), 0)",
            ),
        ],
    ),
    "network": (
        "telemetry_network",
        "network_hourly",
        [
            ("rtt_ms", "avg(rtt_ms)", "sum(rtt_avg * samples) / nullif(sum(samples), 0)"),
            (
                "loss_percent",
                "avg(loss_percent)",
                "sum(loss_avg * samples) / nullif(sum(samples), 0)",
            ),
            (
                "link_down_share",
                "avg((NOT link_up)::int)",
                "sum(link_down_samples)::float8 / nullif(sum(samples), 0)",
            ),
            (
                "lte_rsrp_dbm",
                "avg(lte_rsrp_dbm)",
                "sum(lte_rsrp_avg * samples) / nullif(sum(samples), 0)",
            ),
        ],
    ),
    "camera": (
        "telemetry_camera",
        "camera_hourly",
        [
            (
                "reachable_share",
                "avg(reachable::int)",
                "sum(reachable_samples)::float8 / nullif(sum(samples), 0)",
            ),
            (
                "ok_share",
                "avg((status = 'ok')::int)",
                "sum(ok_samples)::float8 / nullif(sum(samples), 0)",
            ),
            (
                "latency_ms",
                "avg(latency_ms)",
                "sum(latency_avg * samples) / nullif(sum(samples), 0)",
            ),
        ],
    ),
    "display": (
        "telemetry_display",
        "display_hourly",
        [
            (
                "screen_on_share",
                "avg(screen_on::int)",
                "sum(screen_on_samples)::float8 / nullif(sum(samples), 0)",
            ),
            (
                "player_running_share",
                "avg(player_running::int)",
                "sum(player_running_samples)::float8 / nullif(sum(samples), 0)",
            ),
        ],
    ),
}


class SeriesPoint(BaseModel):
    t: datetime
    camera_id: str | None = None
    samples: int
    values: dict[str, float | None]


class Series(BaseModel):
    board_id: str
    kind: str
    since: datetime
    until: datetime
    bucket_s: int
    source: Literal["raw", "hourly"]
    fields: list[str]
    points: list[SeriesPoint]


def pick_bucket(span: timedelta, requested: int | None, *, hourly: bool) -> int:
    seconds = span.total_seconds()
    if requested is None:
        target = seconds / 240
        requested = next((b for b in NICE_BUCKETS if b >= target), NICE_BUCKETS[-1])
    if hourly and requested % 3600:
        raise Invalid(
            f"bucket: ranges over {RAW_LIMIT.days} days use hourly rollups;"
            " give a multiple of 3600 seconds"
        )
    if math.ceil(seconds / requested) > MAX_POINTS:
        raise Invalid(
            f"bucket: {requested} s gives more than {MAX_POINTS} points over this range;"
            " use a larger bucket"
        )
    return requested


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
    if kind not in SERIES:
        raise Invalid(f"kind: one of {', '.join(SERIES)}")
    if since.tzinfo is None or until.tzinfo is None:
        raise Invalid("since/until: give a time zone (e.g. 2026-11-28T08:00:00+07:00)")
    if until <= since:
        raise Invalid("until must be after since")
    if until - since > MAX_RANGE:
        raise Invalid("the range may span at most five years")
    board_in_scope(conn, user.scope, board_id)
    hourly = until - since > RAW_LIMIT
    bucket = pick_bucket(until - since, bucket_s, hourly=hourly)
    raw_table, hourly_table, fields = SERIES[kind]
    table, time_col = (hourly_table, "bucket") if hourly else (raw_table, "measured_at")
    samples = "sum(samples)" if hourly else "count(*)"
    aggregates = ", ".join(
        f"({hourly_expr if hourly else raw_expr})::float8 AS {name}"
        for name, raw_expr, hourly_expr in fields
    )
    camera = kind == "camera"
    group = "camera_id, " if camera else ""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"""SELECT date_bin(make_interval(secs => %s), {time_col},
                                TIMESTAMPTZ '2000-01-01') AS t,
                       {group}{samples} AS samples, {aggregates}
                FROM {table}
                WHERE device_id = %s AND {time_col} >= %s AND {time_col} < %s
                GROUP BY {group}1 ORDER BY 1{", camera_id" if camera else ""}""",
            (bucket, board_id, since, until),
        ).fetchall()
    names = [name for name, _, _ in fields]
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


@router.get(
    "/boards/{board_id}/telemetry/{kind}",
    summary="bucketed telemetry of one board (raw up to 7 days, hourly rollups beyond)",
)
def telemetry_series(
    conn: Db,
    now: Now,
    user: Reader,
    board_id: Annotated[str, Path(max_length=64)],
    kind: Kind,
    since: Annotated[datetime | None, Query(description="default: 24 h before until")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    bucket: Annotated[
        int | None, Query(ge=60, le=7 * 86400, description="seconds; default: about 240 points")
    ] = None,
) -> Series:
    until = until or now
    since = since or until - timedelta(hours=24)
    return series(conn, user, board_id, kind, since=since, until=until, bucket_s=bucket)
