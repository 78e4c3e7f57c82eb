"""The fleet's inventory and its state now, for the API benchmark's data
(``bench/api_data.py``): sites, teams and broadcast windows, boards and
cameras, six months of status changes, the status now, maintenance windows
and the newest reading of each kind (``board_latest``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bench.api_volumes import Volumes
from fleet_server.simulator.places import DEFAULT_WINDOWS, PLACES

Step = tuple[str, str, dict[str, Any]]


def inventory_steps(v: Volumes, now: datetime) -> list[Step]:
    start = now - timedelta(days=v.days)
    common: dict[str, Any] = {"now": now, "start": start}
    places = {
        "codes": [p.code for p in PLACES],
        "names": [p.name for p in PLACES],
        "names_en": [p.name_en for p in PLACES],
        "kinds": [p.kind for p in PLACES],
        "districts": [p.district for p in PLACES],
        "lats": [p.latitude for p in PLACES],
        "lons": [p.longitude for p in PLACES],
        "orgs": [p.organisation for p in PLACES],
    }
    return [
        (
            "sites",
            """
            INSERT INTO sites (code, organisation_id, name, name_en, kind, district, latitude,
                               longitude, camera_guard_organisation_id, created_at)
            SELECT p.code || '-' || lpad((g / 12 + 1)::text, 4, '0'), o.id,
                   p.name || ' — điểm ' || (g / 12 + 1), p.name_en || ', site ' || (g / 12 + 1),
                   p.kind, p.district, p.lat + (random() - 0.5) * 0.4,
                   p.lon + (random() - 0.5) * 0.4,
                   CASE WHEN p.kind = 'border_gate'
                        THEN (SELECT id FROM organisations WHERE code = 'bdbp') END,
                   %(start)s - interval '400 days'
            FROM generate_series(0, %(sites)s - 1) g
            JOIN unnest(%(codes)s::text[], %(names)s::text[], %(names_en)s::text[],
                        %(kinds)s::text[], %(districts)s::text[], %(lats)s::float8[],
                        %(lons)s::float8[], %(orgs)s::text[])
                 WITH ORDINALITY AS p(code, name, name_en, kind, district, lat, lon, org, i)
              ON p.i = g %% 12 + 1
            JOIN organisations o ON o.code = p.org
            ORDER BY g
            """,
            {**places, "sites": v.sites},
        ),
        (
            "site_teams, broadcast_windows",
            """
            INSERT INTO site_teams (site_id, team)
            SELECT id, CASE WHEN kind = 'border_gate' THEN 'to-ky-thuat-bien-gioi'
                            ELSE 'to-ky-thuat-' || organisation_id END
            FROM sites;
            INSERT INTO broadcast_windows (site_id, part, starts_at, ends_at)
            SELECT s.id, w.part, w.starts_at::time, w.ends_at::time
            FROM sites s, unnest(%(parts)s::text[], %(starts)s::text[], %(ends)s::text[])
                 AS w(part, starts_at, ends_at)
            """,
            {
                "parts": [w[0] for w in DEFAULT_WINDOWS],
                "starts": [w[1] for w in DEFAULT_WINDOWS],
                "ends": [w[2] for w in DEFAULT_WINDOWS],
            },
        ),
        (
            "boards, cameras",
            """
            INSERT INTO boards (id, site_id, name, model, serial, installed_on,
                                heartbeat_interval_s, created_at, updated_at)
            SELECT 'lc-' || s.code || '-' || lpad(k::text, 2, '0'), s.id,
                   'Bảng tin ' || s.name || ' số ' || k, 'LED P5 ngoài trời',
                   'LC' || lpad((s.id * 100 + k)::text, 8, '0'),
                   DATE '2025-01-15' + ((s.id * 7 + k) %% 330)::int, 30,
                   %(start)s - interval '200 days', %(start)s - interval '200 days'
            FROM sites s, generate_series(1, ceil(%(boards)s::float8 / %(sites)s)::int) k
            ORDER BY s.id, k
            LIMIT %(boards)s;
            INSERT INTO cameras (board_id, camera_id, name, created_at)
            SELECT b.id, 'cam' || c, 'Camera ' || c || ' — ' || b.name,
                   %(start)s - interval '200 days'
            FROM boards b JOIN sites s ON s.id = b.site_id,
                 generate_series(1, CASE WHEN s.kind = 'border_gate' THEN 2 ELSE 1 END) c
            """,
            {**common, "boards": v.boards, "sites": v.sites},
        ),
        (
            "board_status_history",
            # Outage episodes: about two a week per board (down, then back up).
            """
            INSERT INTO board_status_history (board_id, at, state, previous, reason, boot, seq)
            SELECT e.board_id, x.at, x.state, x.previous, x.reason, 1, 0
            FROM (
                SELECT b.id AS board_id, %(start)s + random() * (%(now)s - %(start)s) AS at,
                       (ARRAY['offline', 'offline', 'offline', 'stale', 'lost'])
                           [1 + floor(random() * 5)::int] AS state,
                       make_interval(secs => 60 + power(random(), 3) * 8 * 3600) AS dur
                FROM boards b, generate_series(1, %(episodes)s) n
            ) e
            CROSS JOIN LATERAL (VALUES
                (e.at, e.state, 'online', CASE e.state WHEN 'offline' THEN 'last will'
                                           WHEN 'stale' THEN 'missed heartbeats'
                                           ELSE 'connection lost' END),
                (e.at + e.dur, 'online', e.state, NULL)) x(at, state, previous, reason)
            WHERE x.at < %(now)s - interval '3 days'
            ORDER BY x.at
            """,
            {**common, "episodes": max(1, v.days * 2 // 7)},
        ),
        (
            "board_status",
            # Now: 93 % online, the rest offline / lost / stale; 0.5 % never
            # seen (no row: 'unknown').
            """
            CREATE TEMP TABLE bench_now AS
            SELECT b.id, b.site_id, r,
                   CASE WHEN r < 0.930 THEN 'online' WHEN r < 0.965 THEN 'offline'
                        WHEN r < 0.980 THEN 'lost' WHEN r < 0.995 THEN 'stale' END AS state,
                   %(now)s - random() * interval '3 days' AS since
            FROM (SELECT id, site_id, random() AS r FROM boards) b;
            INSERT INTO board_status (board_id, state, reason, since, boot, seq, last_seen_at,
                                      heartbeat_interval_s, updated_at)
            SELECT id, state,
                   CASE state WHEN 'offline' THEN 'last will' WHEN 'stale'
                        THEN 'missed heartbeats' WHEN 'lost' THEN 'connection lost' END,
                   since, 1, 1000,
                   CASE WHEN state = 'online' THEN %(now)s - random() * interval '30 s'
                        ELSE since END,
                   30, %(now)s
            FROM bench_now WHERE state IS NOT NULL;
            INSERT INTO board_status_history (board_id, at, state, previous, reason, boot, seq)
            SELECT id, since, state, CASE WHEN state = 'online' THEN 'offline' ELSE 'online' END,
                   NULL, 1, 1000
            FROM bench_now WHERE state IS NOT NULL ORDER BY since
            """,
            common,
        ),
    ]


def late_steps(v: Volumes, now: datetime) -> list[Step]:
    """Maintenance windows and the newest readings (after the accounts)."""
    common: dict[str, Any] = {"now": now, "start": now - timedelta(days=v.days)}
    return [
        (
            "maintenance_windows",
            """
            INSERT INTO maintenance_windows (site_id, starts_at, ends_at, recurrence, reason,
                                             created_by, created_at)
            SELECT id, at, at + interval '3 hours', 'none',
                   'Bảo dưỡng định kỳ / scheduled maintenance', 'van.hanh', %(start)s
            FROM (SELECT id, date_trunc('day', %(now)s - random() * interval '170 days')
                             + interval '1 hour' AS at
                  FROM sites WHERE id %% 10 = 0) s;
            INSERT INTO maintenance_windows (site_id, starts_at, ends_at, recurrence, reason,
                                             created_by, created_at)
            SELECT id, date_trunc('day', %(start)s) + interval '20 hours',
                   date_trunc('day', %(start)s) + interval '21 hours', 'weekly',
                   'Cập nhật phần mềm hằng tuần / weekly update', 'van.hanh', %(start)s
            FROM sites WHERE id %% 50 = 0
            """,
            common,
        ),
        (
            "board_latest",
            """
            INSERT INTO board_latest (device_id, kind, boot, seq, measured_at, received_at,
                                      observed_at, data, stored_at)
            SELECT b.id, k.kind, 1, 1000, t.at, t.at + interval '200 ms', t.at + interval '200 ms',
                   CASE k.kind
                   WHEN 'heartbeat' THEN jsonb_build_object(
                       'uptime_s', 2592000, 'agent_version', '0.1.0',
                       'cpu_percent', round((5 + random() * 30)::numeric, 1),
                       'memory_percent', round((35 + random() * 20)::numeric, 1),
                       'disk_percent', round((30 + random() * 10)::numeric, 1),
                       'temperature_c', round((40 + random() * 15)::numeric, 1),
                       'clock_synced', true, 'spool_pending', 0, 'spool_dropped', 0)
                   WHEN 'power' THEN jsonb_build_object(
                       'source', 'ups', 'mains_present', true, 'on_battery', false,
                       'low_battery', false, 'battery_percent', 100, 'runtime_s', 5400,
                       'input_voltage_v', round((215 + random() * 15)::numeric, 1),
                       'ups_status', 'OL')
                   WHEN 'network' THEN jsonb_build_object(
                       'interface', 'wwan0', 'link_up', true, 'target', '1.1.1.1',
                       'rtt_ms', round((40 + random() * 120)::numeric, 1),
                       'loss_percent', 0, 'rx_bytes', 123456789, 'tx_bytes', 23456789,
                       'lte', jsonb_build_object('operator', 'Viettel', 'access_tech', 'LTE',
                                                 'signal_percent', 70, 'rsrp_dbm', -95))
                   WHEN 'camera' THEN jsonb_build_object('cameras', (
                       SELECT jsonb_agg(jsonb_build_object(
                           'camera_id', c.camera_id, 'reachable', true, 'rtsp_answered', true,
                           'status', 'ok', 'latency_ms', round((20 + random() * 80)::numeric)))
                       FROM cameras c WHERE c.board_id = b.id))
                   ELSE jsonb_build_object(
                       'screen_on', true, 'player_running', true,
                       'content_id', 'tuyen-truyen-2026-11', 'content_kind', 'propaganda',
                       'content_language', 'vi')
                   END,
                   t.at + interval '300 ms'
            FROM boards b
            CROSS JOIN (VALUES ('heartbeat'), ('power'), ('network'), ('camera'), ('display'))
                 k(kind)
            CROSS JOIN LATERAL (SELECT %(now)s - random() * interval '60 s' AS at
                                WHERE b.id IS NOT NULL) t
            """,
            common,
        ),
    ]
