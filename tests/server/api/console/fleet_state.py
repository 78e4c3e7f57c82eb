"""A fleet with something to look at: connectivity states, a day of
telemetry for one board, camera reports. Written straight into the tables the
engine and ingest fill, as they would."""

from __future__ import annotations

import base64
import math
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from fleet_server.tickets import storage as tickets

Conn = psycopg.Connection[Any]

#: Ma Lù Thàng's first board gets a day of telemetry; the others get states,
#: except Nậm Nhùn's board, which has never reported (unknown).
DAY_BOARD = "lc-ma-lu-thang-01"
STATES = {
    "lc-ma-lu-thang-01": "online",
    "lc-ma-lu-thang-02": "online",
    "lc-u-ma-tu-khoong-01": "lost",
    "lc-u-ma-tu-khoong-02": "lost",
    "lc-pa-nam-cum-01": "offline",
    "lc-mu-ca-01": "stale",
    "lc-phong-tho-01": "online",
    "lc-sin-ho-01": "online",
    "lc-muong-te-01": "online",
    "lc-tam-duong-01": "online",
    "lc-tan-uyen-01": "online",
    "lc-than-uyen-01": "online",
    "lc-tp-lai-chau-01": "online",
}


def set_states(conn: Conn, now: datetime, states: dict[str, str] | None = None) -> None:
    """Current state and a state change an hour ago for each board."""
    for board_id, state in (states or STATES).items():
        since = now - timedelta(hours=1)
        conn.execute(
            "INSERT INTO board_status (board_id, state, reason, since, last_seen_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (board_id) DO UPDATE"
            " SET state = EXCLUDED.state, since = EXCLUDED.since",
            (board_id, state, f"test: {state}", since, now - timedelta(seconds=30), now),
        )
        conn.execute(
            "INSERT INTO board_status_history (board_id, at, state, previous, reason)"
            " VALUES (%s, %s, 'online', 'unknown', 'first heartbeat'),"
            " (%s, %s, %s, 'online', %s)",
            (board_id, now - timedelta(hours=20), board_id, since, state, f"test: {state}"),
        )


def _envelope(board_id: str, seq: int, at: datetime) -> tuple[Any, ...]:
    return (board_id, 1, seq, at, at, at, False)


def record_day(conn: Conn, now: datetime, board_id: str = DAY_BOARD) -> None:
    """Power, network, heartbeat and display every 15 minutes for 24 h, with
    a two-hour gap (the board was silent) and a mains cut in the evening."""
    start = now - timedelta(hours=24)
    power, network, heartbeat, display = [], [], [], []
    for step in range(96):
        at = start + timedelta(minutes=15 * step)
        if 40 <= step < 48:
            continue  # silent: the charts show a gap
        seq = step + 1
        on_battery = 70 <= step < 76
        battery = 100.0 - (step - 69) * 9 if on_battery else 100.0
        envelope = _envelope(board_id, seq, at)
        power.append((*envelope, not on_battery, on_battery, battery, 0 if on_battery else 221.5))
        network.append((*envelope, 80 + 40 * math.sin(step / 6), 2.0 if step % 9 else 12.0))
        heartbeat.append((*envelope, 900 * seq, 38 + 8 * math.sin(step / 10)))
        display.append((*envelope, 24 <= step < 88))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO telemetry_power (device_id, boot, seq, measured_at, sent_at,"
            " received_at, replay, source, mains_present, on_battery, low_battery,"
            " battery_percent, runtime_s, input_voltage_v)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, 'ups', %s, %s, false, %s, 3600, %s)",
            power,
        )
        cur.executemany(
            "INSERT INTO telemetry_network (device_id, boot, seq, measured_at, sent_at,"
            " received_at, replay, link_up, rtt_ms, loss_percent, lte_operator,"
            " lte_signal_percent, lte_rsrp_dbm)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, true, %s, %s, 'Viettel', 62, -96)",
            network,
        )
        cur.executemany(
            "INSERT INTO telemetry_heartbeat (device_id, boot, seq, measured_at, sent_at,"
            " received_at, replay, uptime_s, agent_version, cpu_percent, memory_percent,"
            " disk_percent, temperature_c, spool_pending, spool_dropped)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '1.0.0', 12, 41, 33, %s, 0, 0)",
            heartbeat,
        )
        cur.executemany(
            "INSERT INTO telemetry_display (device_id, boot, seq, measured_at, sent_at,"
            " received_at, replay, screen_on, player_running, content_kind)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, true, 'propaganda')",
            display,
        )
    latest = {
        "power": {
            "source": "ups",
            "mains_present": True,
            "on_battery": False,
            "battery_percent": 100,
            "runtime_s": 3600,
            "input_voltage_v": 221.5,
        },
        "network": {
            "link_up": True,
            "rtt_ms": 84.5,
            "loss_percent": 2,
            "lte": {"operator": "Viettel", "signal_percent": 62, "rsrp_dbm": -96},
        },
        "heartbeat": {
            "uptime_s": 86_000,
            "agent_version": "1.0.0",
            "cpu_percent": 12,
            "memory_percent": 41,
            "disk_percent": 33,
            "temperature_c": 41.5,
            "spool_pending": 0,
        },
        "display": {"screen_on": True, "player_running": True, "content_kind": "propaganda"},
    }
    for kind, data in latest.items():
        put_latest(conn, board_id, kind, data, now - timedelta(minutes=1))


def roll_up(owner: Conn, since: datetime, until: datetime) -> None:
    """Refresh the hourly rollups over [since, until), as the engine (plain
    PostgreSQL) or TimescaleDB's jobs would; ``owner`` is the schema owner's
    connection (a continuous aggregate is refreshed by its owner)."""
    plain = owner.execute("SELECT 1 FROM pg_proc WHERE proname = 'fleet_refresh_rollups'")
    if plain.fetchone():
        owner.execute("SELECT fleet_refresh_rollups(%s, %s)", (since, until))
        return
    for view in ("heartbeat_hourly", "power_hourly", "network_hourly", "display_hourly"):
        owner.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, since, until))


def put_latest(conn: Conn, board_id: str, kind: str, data: dict[str, Any], at: datetime) -> None:
    conn.execute(
        "INSERT INTO board_latest (device_id, kind, boot, seq, measured_at, received_at,"
        " observed_at, data) VALUES (%s, %s, 1, 1000, %s, %s, %s, %s)"
        " ON CONFLICT (device_id, kind) DO UPDATE SET data = EXCLUDED.data,"
        " measured_at = EXCLUDED.measured_at, observed_at = EXCLUDED.observed_at",
        (board_id, kind, at, at, at, Jsonb(data)),
    )


def report_cameras(conn: Conn, now: datetime) -> None:
    """Camera reports from the border boards: one camera without a stream."""
    rows = conn.execute(
        "SELECT c.board_id, array_agg(c.camera_id ORDER BY c.camera_id) FROM cameras c"
        " JOIN boards b ON b.id = c.board_id JOIN sites s ON s.id = b.site_id"
        " WHERE s.kind = 'border_gate' GROUP BY c.board_id"
    ).fetchall()
    for board_id, camera_ids in rows:
        cameras = []
        for index, camera_id in enumerate(camera_ids):
            broken = board_id == "lc-ma-lu-thang-01" and index == 0
            cameras.append(
                {
                    "camera_id": camera_id,
                    "reachable": True,
                    "rtsp_answered": not broken,
                    "status": "stream_missing" if broken else "ok",
                    "latency_ms": 35.0 + index,
                }
            )
        put_latest(conn, board_id, "camera", {"cameras": cameras}, now - timedelta(minutes=1))


def open_ticket(conn: Conn, board_id: str, now: datetime, title: str = "Kiểm tra bảng") -> int:
    """A corrective ticket on a board, as an operator would open it."""
    site = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone()
    assert site is not None
    with conn.transaction():
        ticket, _ = tickets.create(
            conn,
            site_id=int(site[0]),
            board_id=board_id,
            kind="corrective",
            priority="high",
            title=title,
            actor="van.hanh",
            now=now,
        )
    return ticket.id


#: A real 16×9 JPEG (made by ffmpeg), shown at the size the board says.
PICTURE = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgQEBMQExYWFhYWFhoY"
    "GhsbGxoaGhobGxsdHR0iIiIdHR0bGx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xABiAAEB"
    "AQAAAAAAAAAAAAAAAAAABQYBAQEAAAAAAAAAAAAAAAAAAAUGEAABAwIHAQAAAAAAAAAAAAAAIhEx"
    "ATMyFRMSFAIEUhEAAgMAAwEAAAAAAAAAAAAAEQFRACFBcQLB/8AAEQgACAAQAwEiAAIRAAMRAP/a"
    "AAwDAQACEQMRAD8Av+PKdDpyLqt1/wCqtgTDQYUAoV5B1szx1Q2yMSEfb//Z"
)


def first_camera(conn: Conn, board_id: str) -> str:
    row = conn.execute(
        "SELECT camera_id FROM cameras WHERE board_id = %s ORDER BY camera_id LIMIT 1",
        (board_id,),
    ).fetchone()
    assert row is not None, f"{board_id} has no camera"
    return str(row[0])


def add_picture(
    conn: Conn,
    board_id: str,
    at: datetime,
    *,
    camera_id: str | None = None,
    reason: str = "interval",
    size: tuple[int, int] = (480, 270),
) -> int:
    """A picture as ingest stores one (the screen, or ``camera_id``); its id."""
    seq = conn.execute("SELECT count(*) + 1 FROM snapshots").fetchone()
    assert seq is not None
    row = conn.execute(
        "INSERT INTO snapshots (device_id, boot, seq, measured_at, sent_at, received_at,"
        " replay, source, camera_id, reason, captured_at, width, height, phash, jpeg)"
        " VALUES (%s, 1, %s, %s, %s, %s, false, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            board_id,
            10_000 + int(seq[0]),
            at,
            at,
            at,
            "camera" if camera_id else "screen",
            camera_id or "",
            reason,
            at,
            *size,
            "0f0f0f0f0f0f0f0f",
            PICTURE,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def report_pictures(
    conn: Conn, board_id: str, at: datetime, *, screen: dict[str, Any], camera: dict[str, Any]
) -> None:
    """The board's latest display and camera readings with what it judged of
    its screen and of its first camera (PictureCheck fields; the rest of
    each reading as a board sends it)."""
    camera_id = first_camera(conn, board_id)
    check = {"captured_at": at.isoformat(), "phash": "0f0f0f0f0f0f0f0f", "same_count": 1}
    put_latest(
        conn,
        board_id,
        "display",
        {
            "screen_on": True,
            "player_running": True,
            "screen": {
                **check,
                "luma_mean": 120.0,
                "luma_stddev": 40.0,
                "black": False,
                "frozen": False,
                "source": "x11",
                **screen,
            },
        },
        at,
    )
    status = {"camera_id": camera_id, "reachable": True, "rtsp_answered": True, "status": "ok"}
    picture = {**check, "luma_mean": 90.0, "luma_stddev": 30.0, "black": False, "frozen": False}
    put_latest(
        conn, board_id, "camera", {"cameras": [{**status, "picture": {**picture, **camera}}]}, at
    )
