"""Bucketed telemetry of one board: raw tables or hourly rollups.

The hourly rollups are continuous aggregates on TimescaleDB and refreshed
tables on plain PostgreSQL (same names and columns); ``date_bin`` buckets on
both. (``storage.py`` is ingest's batch writer.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]

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


def field_names(kind: str) -> list[str]:
    """The values each point of a ``kind`` series has."""
    return [name for name, _, _ in SERIES[kind][2]]


def _select(kind: str, *, hourly: bool) -> str:
    """One bucketed SELECT of ``kind`` (raw rows or hourly rollups); its
    parameters: bucket seconds, board id, since, until."""
    raw_table, hourly_table, fields = SERIES[kind]
    table, time_col = (hourly_table, "bucket") if hourly else (raw_table, "measured_at")
    samples = "sum(samples)" if hourly else "count(*)"
    aggregates = ", ".join(
        f"({hourly_expr if hourly else raw_expr})::float8 AS {name}"
        for name, raw_expr, hourly_expr in fields
    )
    group = "camera_id, " if kind == "camera" else ""
    return f"""SELECT date_bin(make_interval(secs => %s), {time_col},
                                TIMESTAMPTZ '2000-01-01') AS t,
                       {group}{samples} AS samples, {aggregates}
                FROM {table}
                WHERE device_id = %s AND {time_col} >= %s AND {time_col} < %s
                GROUP BY {group}1"""


def bucketed(
    conn: Conn,
    board_id: str,
    kind: str,
    *,
    since: datetime,
    until: datetime,
    bucket_s: int,
    hourly: bool,
) -> list[dict[str, Any]]:
    """Rows ``t``, (``camera_id``), ``samples`` and one column per field of
    ``kind`` for [since, until), oldest bucket first."""
    order = "1, camera_id" if kind == "camera" else "1"
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"{_select(kind, hourly=hourly)} ORDER BY {order}",
            (bucket_s, board_id, since, until),
        ).fetchall()


def bucketed_recent(
    conn: Conn,
    board_id: str,
    kinds: list[str],
    *,
    since: datetime,
    raw_from: datetime,
    until: datetime,
    bucket_s: int,
) -> dict[str, list[dict[str, Any]]]:
    """:func:`bucketed` of each of ``kinds``, one statement a kind: hourly
    rollups over [since, raw_from) then ``bucket_s`` buckets of raw rows
    over [raw_from, until), each row with its ``width_s`` (not for cameras:
    one series a board). The statements go in one round trip (pipeline
    mode): the board page's charts waited for each in turn."""
    cursors = {}
    with conn.pipeline():
        for kind in kinds:
            cur = conn.cursor(row_factory=dict_row)
            cur.execute(
                f"""SELECT 3600 AS width_s, h.* FROM ({_select(kind, hourly=True)}) h
                    UNION ALL
                    SELECT %s, r.* FROM ({_select(kind, hourly=False)}) r
                    ORDER BY t""",
                (3600, board_id, since, raw_from, bucket_s, bucket_s, board_id, raw_from, until),
            )
            cursors[kind] = cur
    rows = {}
    for kind, cur in cursors.items():  # the block's end received every result
        with cur:
            rows[kind] = cur.fetchall()
    return rows
