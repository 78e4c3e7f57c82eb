"""A day of raw telemetry and six months of hourly rollups per board, for
the API benchmark's data (``bench/api_data.py``). Rows go time-major (every
board's sample of one interval, then the next), as ingest writes them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bench.api_volumes import Volumes

Step = tuple[str, str, dict[str, Any]]


def telemetry_steps(v: Volumes, now: datetime) -> list[Step]:
    raw_points = v.raw_hours * 3600 // v.raw_interval_s
    common: dict[str, Any] = {"now": now, "start": now - timedelta(days=v.days)}
    raw = {"points": raw_points, "interval": v.raw_interval_s, **common}
    # Time-major (an interval's samples of every board, then the next), as ingest writes.
    times = """
        FROM generate_series(1, %(points)s) n
        CROSS JOIN LATERAL (SELECT %(now)s - (%(points)s - n) * make_interval(
                                secs => %(interval)s) AS at) t
        CROSS JOIN boards b
        ORDER BY n, b.id
    """
    steps: list[Step] = [
        (
            "telemetry_heartbeat (raw)",
            f"""
            INSERT INTO telemetry_heartbeat (device_id, boot, seq, measured_at, sent_at,
                received_at, stored_at, replay, uptime_s, agent_version, cpu_percent,
                memory_percent, disk_percent, temperature_c, clock_synced, spool_pending,
                spool_dropped)
            SELECT b.id, 1, n, t.at, t.at, t.at + interval '150 ms', t.at + interval '300 ms',
                   false, 2592000 + n * %(interval)s, '0.1.0', 5 + random() * 30,
                   35 + random() * 20, 30 + random() * 10, 40 + random() * 15, true, 0, 0
            {times}
            """,
            raw,
        ),
        (
            "telemetry_power (raw)",
            f"""
            INSERT INTO telemetry_power (device_id, boot, seq, measured_at, sent_at,
                received_at, stored_at, replay, source, mains_present, on_battery, low_battery,
                battery_percent, runtime_s, input_voltage_v, ups_status)
            SELECT b.id, 1, n, t.at, t.at, t.at + interval '150 ms', t.at + interval '300 ms',
                   false, 'ups', true, false, false, 100, 5400, 215 + random() * 15, 'OL'
            {times}
            """,
            raw,
        ),
        (
            "telemetry_network (raw)",
            f"""
            INSERT INTO telemetry_network (device_id, boot, seq, measured_at, sent_at,
                received_at, stored_at, replay, interface, link_up, target, rtt_ms,
                loss_percent, rx_bytes, tx_bytes, lte_operator, lte_access_tech,
                lte_signal_percent, lte_rsrp_dbm, lte_rsrq_db, lte_sinr_db)
            SELECT b.id, 1, n, t.at, t.at, t.at + interval '150 ms', t.at + interval '300 ms',
                   false, 'wwan0', true, '1.1.1.1', 40 + random() * 120,
                   CASE WHEN random() < 0.05 THEN random() * 20 ELSE 0 END,
                   n * 400000, n * 90000, 'Viettel', 'LTE', 70, -95 - random() * 15, -10, 12
            {times}
            """,
            raw,
        ),
        (
            "telemetry_camera (raw)",
            """
            INSERT INTO telemetry_camera (device_id, boot, seq, measured_at, sent_at,
                received_at, stored_at, replay, camera_id, reachable, rtsp_answered, status,
                latency_ms, error)
            SELECT b.id, 1, n, t.at, t.at, t.at + interval '150 ms', t.at + interval '300 ms',
                   false, c.camera_id, true, true, 'ok', 20 + random() * 80, NULL
            FROM generate_series(1, %(points)s) n
            CROSS JOIN LATERAL (SELECT %(now)s - (%(points)s - n) * make_interval(
                                    secs => %(interval)s) AS at) t
            CROSS JOIN boards b JOIN cameras c ON c.board_id = b.id
            ORDER BY n, b.id, c.camera_id
            """,
            raw,
        ),
        (
            "telemetry_display (raw)",
            f"""
            INSERT INTO telemetry_display (device_id, boot, seq, measured_at, sent_at,
                received_at, stored_at, replay, screen_on, player_running, content_id,
                content_kind, content_language)
            SELECT b.id, 1, n, t.at, t.at, t.at + interval '150 ms', t.at + interval '300 ms',
                   false, true, true, 'tuyen-truyen-2026-11', 'propaganda', 'vi'
            {times}
            """,
            raw,
        ),
    ]
    hours = v.rollup_days * 24
    hourly = {"hours": hours, **common}
    buckets = """
        FROM generate_series(1, %(hours)s) h
        CROSS JOIN LATERAL (SELECT date_trunc('hour', %(now)s) - (%(hours)s - h)
                                   * interval '1 hour' AS bucket) t
        CROSS JOIN boards b
        ORDER BY h, b.id
    """
    steps += [
        (
            "heartbeat_hourly",
            f"""
            INSERT INTO heartbeat_hourly (device_id, bucket, samples, cpu_avg, cpu_max,
                                          memory_max, disk_max, temperature_max)
            SELECT b.id, t.bucket, 120, 10 + random() * 20, 40 + random() * 40,
                   50 + random() * 10, 35 + random() * 5, 45 + random() * 15
            {buckets}
            """,
            hourly,
        ),
        (
            "power_hourly",
            f"""
            INSERT INTO power_hourly (device_id, bucket, samples, mains_lost_samples,
                                      on_battery_samples, low_battery_samples, battery_min,
                                      voltage_min, voltage_avg)
            SELECT b.id, t.bucket, 60, 0, 0, 0, 100, 205 + random() * 10, 220 + random() * 5
            {buckets}
            """,
            hourly,
        ),
        (
            "network_hourly",
            f"""
            INSERT INTO network_hourly (device_id, bucket, samples, link_down_samples, rtt_avg,
                                        rtt_max, loss_avg, lte_rsrp_avg)
            SELECT b.id, t.bucket, 60, 0, 60 + random() * 80, 200 + random() * 300,
                   random() * 2, -95 - random() * 10
            {buckets}
            """,
            hourly,
        ),
        (
            "camera_hourly",
            """
            INSERT INTO camera_hourly (device_id, camera_id, bucket, samples, ok_samples,
                                       reachable_samples, latency_avg)
            SELECT c.board_id, c.camera_id, t.bucket, 60, 60, 60, 30 + random() * 40
            FROM generate_series(1, %(hours)s) h
            CROSS JOIN LATERAL (SELECT date_trunc('hour', %(now)s) - (%(hours)s - h)
                                       * interval '1 hour' AS bucket) t
            CROSS JOIN cameras c
            ORDER BY h, c.board_id, c.camera_id
            """,
            hourly,
        ),
        (
            "display_hourly",
            f"""
            INSERT INTO display_hourly (device_id, bucket, samples, screen_on_samples,
                                        player_running_samples)
            SELECT b.id, t.bucket, 120, 120, 120
            {buckets}
            """,
            hourly,
        ),
    ]
    return steps
