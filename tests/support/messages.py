"""Building valid board messages for tests, through the protocol models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import fleet_protocol as fp

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def _envelope(
    device_id: str, boot: int, seq: int, at: datetime | None, replay: bool = False
) -> dict[str, Any]:
    when = at or T0 + timedelta(seconds=seq)
    return {
        "schema_version": 1,
        "device_id": device_id,
        "boot": boot,
        "seq": seq,
        "measured_at": when,
        "sent_at": when,
        "replay": replay,
    }


def heartbeat(
    device_id: str = "lc-mlt-01",
    boot: int = 1,
    seq: int = 1,
    *,
    at: datetime | None = None,
    replay: bool = False,
    **data: Any,
) -> tuple[str, bytes]:
    body = {
        "uptime_s": 60 + seq,
        "agent_version": "0.1.0",
        "cpu_percent": 12.5,
        "memory_percent": 40.0,
        "disk_percent": 30.0,
        "temperature_c": 48.0,
        "clock_synced": True,
        **data,
    }
    msg = fp.HeartbeatMessage(
        **_envelope(device_id, boot, seq, at, replay), data=fp.HeartbeatData(**body)
    )
    return fp.telemetry_topic(device_id, "heartbeat"), fp.encode(msg)


def power(
    device_id: str = "lc-mlt-01",
    boot: int = 1,
    seq: int = 1,
    *,
    at: datetime | None = None,
    **data: Any,
) -> tuple[str, bytes]:
    body = {
        "source": "ups",
        "mains_present": True,
        "on_battery": False,
        "battery_percent": 100.0,
        "runtime_s": 3600,
        "input_voltage_v": 221.0,
        "ups_status": "OL",
        **data,
    }
    msg = fp.PowerMessage(**_envelope(device_id, boot, seq, at), data=fp.PowerData(**body))
    return fp.telemetry_topic(device_id, "power"), fp.encode(msg)


def camera(
    device_id: str = "lc-mlt-01",
    boot: int = 1,
    seq: int = 1,
    *,
    at: datetime | None = None,
    cameras: int = 2,
) -> tuple[str, bytes]:
    cams = [
        fp.CameraStatus(
            camera_id=f"cam{i}", reachable=True, rtsp_answered=True, status="ok", latency_ms=12.0
        )
        for i in range(1, cameras + 1)
    ]
    msg = fp.CameraMessage(**_envelope(device_id, boot, seq, at), data=fp.CameraData(cameras=cams))
    return fp.telemetry_topic(device_id, "camera"), fp.encode(msg)


def state(
    device_id: str = "lc-mlt-01",
    boot: int = 1,
    seq: int = 0,
    *,
    status: Literal["online", "offline", "lost"] = "online",
    at: datetime | None = None,
) -> tuple[str, bytes]:
    msg = fp.StateMessage(
        **_envelope(device_id, boot, seq, at),
        data=fp.StateData(status=status, agent_version="0.1.0"),
    )
    return fp.state_topic(device_id), fp.encode(msg)
