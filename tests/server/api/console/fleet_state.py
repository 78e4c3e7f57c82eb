"""A fleet with something to look at: connectivity states, a day of
telemetry for one board, camera reports. Written straight into the tables the
engine and ingest fill, as they would."""

from __future__ import annotations

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
