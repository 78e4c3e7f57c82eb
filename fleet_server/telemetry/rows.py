"""Mapping of protocol messages to table rows (no SQL execution here).

Each message class has one target table; its row starts with the envelope
columns. A camera message makes one row per camera. A display or camera
reading's picture check (screen and camera proof) fills its ``screen_*`` or
``picture_*`` columns; a snapshot is a row of ``snapshots`` with its JPEG,
a log bundle one of ``log_bundles`` with its gzip.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from fleet_protocol import (
    BoardMessage,
    CameraMessage,
    CommandResultMessage,
    ConfigReportedMessage,
    DisplayMessage,
    EventMessage,
    HeartbeatMessage,
    LogBundleMessage,
    NetworkMessage,
    PowerMessage,
    SnapshotMessage,
    StateMessage,
)
from fleet_protocol.messages import CameraPicture, CameraStatus, DisplayData, ScreenCheck
from fleet_protocol.usage import DataUsage
from fleet_server.logbundles.storage import LOG_BUNDLE_COLUMNS

ENVELOPE_COLUMNS = (
    "device_id",
    "boot",
    "seq",
    "measured_at",
    "sent_at",
    "received_at",
    "replay",
)

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class TableSpec:
    table: str
    columns: tuple[str, ...]  # the kind-specific columns after the envelope
    rows: Callable[[Any], Iterable[Row]]  # data part -> kind-specific values
    latest_kind: str | None  # key in board_latest, None when not tracked

    @property
    def all_columns(self) -> tuple[str, ...]:
        return ENVELOPE_COLUMNS + self.columns


def _one(*values: Any) -> list[Row]:
    return [tuple(values)]


#: What the board saw in its last picture (fleet_protocol PictureCheck),
#: as columns of the reading that carries it: ``screen_*`` on a display
#: reading, ``picture_*`` on a camera's.
SCREEN_COLUMNS = (
    "screen_captured_at",
    "screen_phash",
    "screen_luma_mean",
    "screen_luma_stddev",
    "screen_black",
    "screen_frozen",
    "screen_same_count",
    "screen_reference_distance",
    "screen_source",
    "screen_wrong_content",
    "screen_error",
)
PICTURE_COLUMNS = (
    "picture_captured_at",
    "picture_phash",
    "picture_luma_mean",
    "picture_luma_stddev",
    "picture_black",
    "picture_frozen",
    "picture_same_count",
    "picture_reference_distance",
    "picture_covered",
    "picture_moved",
    "picture_error",
    "firmware",
    "default_credentials",
)


def _screen(d: DisplayData) -> Row:
    s: ScreenCheck | None = d.screen
    if s is None:
        return (None,) * (len(SCREEN_COLUMNS) - 1) + (d.screen_error,)
    return (
        s.captured_at,
        s.phash,
        s.luma_mean,
        s.luma_stddev,
        s.black,
        s.frozen,
        s.same_count,
        s.reference_distance,
        s.source,
        s.wrong_content,
        d.screen_error,
    )


def _picture(c: CameraStatus) -> Row:
    p: CameraPicture | None = c.picture
    seen: Row = (
        (None,) * 10
        if p is None
        else (
            p.captured_at,
            p.phash,
            p.luma_mean,
            p.luma_stddev,
            p.black,
            p.frozen,
            p.same_count,
            p.reference_distance,
            p.covered,
            p.moved,
        )
    )
    return (*seen, c.picture_error, c.firmware, c.default_credentials)


#: The board's own data usage (fleet_protocol.usage) on a network reading;
#: a trigger (migration 0042) keeps board_data_usage's day from it.
USAGE_COLUMNS = (
    "usage_day",
    "usage_day_sent",
    "usage_day_received",
    "usage_month_sent",
    "usage_month_received",
    "usage_factor",
    "usage_counted",
)


def _usage(u: DataUsage | None) -> Row:
    if u is None:
        return (None,) * len(USAGE_COLUMNS)
    return (
        date.fromisoformat(u.day),
        u.day_sent,
        u.day_received,
        u.month_sent,
        u.month_received,
        u.factor,
        u.counted,
    )


SPECS: dict[type[Any], TableSpec] = {
    StateMessage: TableSpec(
        "board_states",
        ("status", "agent_version", "reason", "heartbeat_interval_s"),
        lambda d: _one(d.status, d.agent_version, d.reason, d.heartbeat_interval_s),
        "state",
    ),
    HeartbeatMessage: TableSpec(
        "telemetry_heartbeat",
        (
            "uptime_s",
            "agent_version",
            "cpu_percent",
            "memory_percent",
            "disk_percent",
            "temperature_c",
            "clock_synced",
            "spool_pending",
            "spool_dropped",
        ),
        lambda d: _one(
            d.uptime_s,
            d.agent_version,
            d.cpu_percent,
            d.memory_percent,
            d.disk_percent,
            d.temperature_c,
            d.clock_synced,
            d.spool_pending,
            d.spool_dropped,
        ),
        "heartbeat",
    ),
    PowerMessage: TableSpec(
        "telemetry_power",
        (
            "source",
            "mains_present",
            "on_battery",
            "low_battery",
            "battery_percent",
            "runtime_s",
            "input_voltage_v",
            "ups_status",
        ),
        lambda d: _one(
            d.source,
            d.mains_present,
            d.on_battery,
            d.low_battery,
            d.battery_percent,
            d.runtime_s,
            d.input_voltage_v,
            d.ups_status,
        ),
        "power",
    ),
    NetworkMessage: TableSpec(
        "telemetry_network",
        (
            "interface",
            "link_up",
            "target",
            "rtt_ms",
            "loss_percent",
            "rx_bytes",
            "tx_bytes",
            "lte_operator",
            "lte_access_tech",
            "lte_signal_percent",
            "lte_rssi_dbm",
            "lte_rsrp_dbm",
            "lte_rsrq_db",
            "lte_sinr_db",
            *USAGE_COLUMNS,
        ),
        lambda d: _one(
            d.interface,
            d.link_up,
            d.target,
            d.rtt_ms,
            d.loss_percent,
            d.rx_bytes,
            d.tx_bytes,
            *(
                (
                    d.lte.operator,
                    d.lte.access_tech,
                    d.lte.signal_percent,
                    d.lte.rssi_dbm,
                    d.lte.rsrp_dbm,
                    d.lte.rsrq_db,
                    d.lte.sinr_db,
                )
                if d.lte
                else (None,) * 7
            ),
            *_usage(d.data_usage),
        ),
        "network",
    ),
    CameraMessage: TableSpec(
        "telemetry_camera",
        (
            "camera_id",
            "reachable",
            "rtsp_answered",
            "status",
            "latency_ms",
            "error",
            *PICTURE_COLUMNS,
        ),
        lambda d: [
            (
                c.camera_id,
                c.reachable,
                c.rtsp_answered,
                c.status,
                c.latency_ms,
                c.error,
                *_picture(c),
            )
            for c in d.cameras
        ],
        "camera",
    ),
    DisplayMessage: TableSpec(
        "telemetry_display",
        (
            "screen_on",
            "player_running",
            "content_id",
            "content_kind",
            "content_sha256",
            "content_language",
            "content_started_at",
            *SCREEN_COLUMNS,
        ),
        lambda d: _one(
            d.screen_on,
            d.player_running,
            d.content_id,
            d.content_kind,
            d.content_sha256,
            d.content_language,
            d.content_started_at,
            *_screen(d),
        ),
        "display",
    ),
    EventMessage: TableSpec(
        "board_events",
        ("type", "severity", "message", "details"),
        lambda d: _one(d.type, d.severity, d.message, json.dumps(d.details)),
        None,
    ),
    # A picture (``jpeg``: the decoded bytes); not in board_latest: the
    # snapshots API reads the newest of each source from the table itself.
    SnapshotMessage: TableSpec(
        "snapshots",
        (
            "source",
            "camera_id",
            "reason",
            "request_id",
            "captured_at",
            "width",
            "height",
            "phash",
            "jpeg",
        ),
        lambda d: _one(
            d.source,
            d.camera_id or "",
            d.reason,
            d.request_id,
            d.captured_at,
            d.width,
            d.height,
            d.phash,
            d.jpeg,
        ),
        None,
    ),
    # A log bundle (``body``: the gzip as sent; the log bundles API unpacks it).
    LogBundleMessage: TableSpec(
        "log_bundles",
        LOG_BUNDLE_COLUMNS,
        lambda d: _one(*(getattr(d, column) for column in LOG_BUNDLE_COLUMNS)),
        None,
    ),
    CommandResultMessage: TableSpec(
        "command_results",
        ("request_id", "command", "status", "output", "error"),
        lambda d: _one(
            d.request_id,
            d.command,
            d.status,
            None if d.output is None else json.dumps(d.output),
            d.error,
        ),
        None,
    ),
    ConfigReportedMessage: TableSpec(
        "config_reports",
        ("version", "applied", "error", "config"),
        lambda d: _one(d.version, d.applied, d.error, json.dumps(d.config)),
        None,
    ),
}

TABLES = tuple(spec.table for spec in SPECS.values())


def rows_for(message: BoardMessage, received_at: datetime) -> tuple[TableSpec, list[Row]]:
    spec = SPECS[type(message)]
    head = (
        message.device_id,
        message.boot,
        message.seq,
        message.measured_at,
        message.sent_at,
        received_at,
        message.replay,
    )
    return spec, [head + values for values in spec.rows(message.data)]
