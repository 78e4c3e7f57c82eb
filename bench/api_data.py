"""Six months of a 10,000-board fleet, written with set-based SQL (for the API
benchmark, ``bench/api.py``).

Everything is ``INSERT … SELECT`` over ``generate_series``: no Python loop per
row. ``setseed`` makes the random choices the same every run. Rows go in
time-major order where production writes them that way (raw telemetry and
rollups: every board's sample of one interval, then the next), so a board's
24 h of readings are spread over many heap pages as they would be.

The inventory reuses the simulator's organisations and the province's twelve
places (``fleet_server.simulator.places``): site *n* stands near place
``n % 12`` and belongs to that place's organisation, so the Economic Zone
Board runs the border gates (a third of the boards), the district committees
the rest, and the Border Guard watches the border cameras.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from fleet_server.simulator.places import DEFAULT_WINDOWS, PLACES
from fleet_server.simulator.seed import seed

Conn = psycopg.Connection[Any]

#: rule, class, severity, weight (share of the incident history), English title
BOARD_RULES: list[tuple[str, str, str, int, str]] = [
    ("board_offline", "technical", "major", 22, "Board offline"),
    ("board_lost", "technical", "major", 8, "Board lost its connection"),
    ("board_stale", "technical", "minor", 10, "Board stopped reporting"),
    ("mains_lost", "technical", "major", 15, "Mains lost, running on UPS"),
    ("battery_low", "technical", "critical", 3, "UPS battery low"),
    ("network_degraded", "technical", "minor", 14, "Network degraded"),
    ("camera_unreachable", "technical", "major", 12, "Camera unreachable"),
    ("display_dark", "technical", "major", 6, "Display dark"),
    ("clock_skew", "technical", "minor", 2, "Clock skew"),
    ("disk_full", "technical", "minor", 2, "Disk almost full"),
    ("overheating", "technical", "major", 2, "Overheating"),
    ("agent_restarting", "technical", "minor", 3, "Agent restarting"),
    ("spool_dropping", "technical", "warning", 1, "Spool dropping messages"),
    ("content_unapproved", "security", "critical", 1, "Unapproved content on screen"),
]


@dataclass(frozen=True)
class Volumes:
    boards: int = 10_000
    sites: int = 2_500
    days: int = 182
    #: incident history (resolved), about; plus the unresolved ones
    incidents: int = 200_000
    #: unresolved incidents besides those of boards that are down now
    unresolved: int = 800
    raw_hours: int = 24
    raw_interval_s: int = 300
    #: rollup history (hourly rows per board and kind)
    rollup_days: int = 182
    #: staff accounts besides the benchmark's admin and operator
    staff: int = 60


def _rule_arrays() -> dict[str, list[str]]:
    """One entry per percent of weight, so ``arr[1 + floor(random() * n)]``
    draws a rule with its share."""
    rules: list[str] = []
    for rule, _klass, _severity, weight, _title in BOARD_RULES:
        rules += [rule] * weight
    return {"weighted_rules": rules}


def _steps(v: Volumes, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    start = now - timedelta(days=v.days)
    raw_points = v.raw_hours * 3600 // v.raw_interval_s
    per_board = max(1, round(v.incidents / v.boards))
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
    rules = {
        "r_rule": [r[0] for r in BOARD_RULES],
        "r_class": [r[1] for r in BOARD_RULES],
        "r_sev": [r[2] for r in BOARD_RULES],
        "r_title": [r[4] for r in BOARD_RULES],
    }
    steps: list[tuple[str, str, dict[str, Any]]] = [
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
        (
            "incidents (history)",
            """
            INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,
                                   organisation_id, title, details, flapping, opened_at,
                                   acknowledged_at, acknowledged_by, resolved_at, resolved_by,
                                   resolution_note, reopen_count, updated_at)
            SELECT 'board:' || x.board_id || ':' || x.rule, x.rule, r.klass, r.sev, 'resolved',
                   x.board_id, x.site_id, x.organisation_id, r.title || ' — ' || x.board_name,
                   CASE WHEN x.rule = 'camera_unreachable'
                        THEN jsonb_build_object('camera_id', 'cam1')
                        ELSE jsonb_build_object('board_id', x.board_id) END,
                   x.u < 0.02, x.opened,
                   CASE WHEN x.u < 0.35 THEN x.opened + x.dur * 0.2 END,
                   CASE WHEN x.u < 0.35 THEN x.operator END,
                   x.opened + x.dur,
                   CASE WHEN x.u < 0.25 THEN x.operator ELSE 'engine:' || x.rule END,
                   CASE WHEN x.u < 0.25 THEN 'Đã khắc phục tại chỗ / fixed on site' END,
                   CASE WHEN x.u > 0.97 THEN 1 ELSE 0 END, x.opened + x.dur
            FROM (
                SELECT b.id AS board_id, b.site_id, s.organisation_id, b.name AS board_name,
                       (%(weighted_rules)s::text[])
                           [1 + floor(random() * cardinality(%(weighted_rules)s::text[]))::int]
                           AS rule,
                       %(start)s + random() * (%(now)s - %(start)s - interval '1 day') AS opened,
                       make_interval(secs => 120 + power(random(), 4) * 3 * 86400) AS dur,
                       random() AS u,
                       CASE WHEN s.kind = 'border_gate' THEN 'van.hanh'
                            ELSE 'van.hanh.' || s.organisation_id END AS operator
                FROM boards b JOIN sites s ON s.id = b.site_id,
                     generate_series(1, %(per_board)s) n
            ) x
            JOIN unnest(%(r_rule)s::text[], %(r_class)s::text[], %(r_sev)s::text[],
                        %(r_title)s::text[]) AS r(rule, klass, sev, title) ON r.rule = x.rule
            WHERE x.opened + x.dur < %(now)s
            ORDER BY x.opened
            """,
            {**common, **_rule_arrays(), **rules, "per_board": per_board},
        ),
        (
            "incidents (site outages)",
            """
            INSERT INTO incidents (dedupe_key, rule, class, severity, state, site_id,
                                   organisation_id, title, details, opened_at, resolved_at,
                                   resolved_by, updated_at)
            SELECT 'site:' || s.id || ':site_outage', 'site_outage', 'technical', 'critical',
                   'resolved', s.id, s.organisation_id, 'Site outage — ' || s.name,
                   jsonb_build_object('cause', CASE WHEN random() < 0.6 THEN 'power'
                                                    ELSE 'uplink' END),
                   x.opened, x.opened + x.dur, 'engine:site_outage', x.opened + x.dur
            FROM sites s, LATERAL (
                SELECT %(start)s + random() * (%(now)s - %(start)s - interval '1 day') AS opened,
                       make_interval(secs => 600 + random() * 6 * 3600) AS dur
                FROM generate_series(1, 2) WHERE s.id IS NOT NULL) x
            ORDER BY x.opened
            """,
            common,
        ),
        (
            "incidents (unresolved)",
            # The boards that are down now have their connectivity incident
            # open; a few hundred others have a telemetry incident open.
            """
            INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,
                                   organisation_id, title, details, opened_at, acknowledged_at,
                                   acknowledged_by, updated_at)
            SELECT DISTINCT ON (key) key, x.rule, r.klass, r.sev,
                   CASE WHEN x.u < 0.45 THEN 'acknowledged' ELSE 'open' END,
                   x.board_id, x.site_id, x.organisation_id, r.title || ' — ' || x.board_name,
                   jsonb_build_object('board_id', x.board_id), x.opened,
                   CASE WHEN x.u < 0.45 THEN x.opened + (%(now)s - x.opened) * 0.3 END,
                   CASE WHEN x.u < 0.45 THEN 'van.hanh' END, %(now)s
            FROM (
                SELECT n.id AS board_id, n.site_id, s.organisation_id, b.name AS board_name,
                       CASE n.state WHEN 'offline' THEN 'board_offline'
                                    WHEN 'lost' THEN 'board_lost' ELSE 'board_stale' END AS rule,
                       n.since AS opened, random() AS u
                FROM bench_now n JOIN boards b ON b.id = n.id JOIN sites s ON s.id = n.site_id
                WHERE n.state IN ('offline', 'lost', 'stale')
                UNION ALL
                SELECT * FROM (
                    SELECT b.id, b.site_id, s.organisation_id, b.name,
                           (ARRAY['mains_lost', 'network_degraded', 'camera_unreachable',
                                  'display_dark', 'disk_full', 'battery_low',
                                  'content_unapproved'])[1 + floor(random() * 7)::int],
                           %(now)s - random() * interval '5 days', random()
                    FROM boards b JOIN sites s ON s.id = b.site_id
                    ORDER BY random() LIMIT %(unresolved)s) t
            ) x
            JOIN unnest(%(r_rule)s::text[], %(r_class)s::text[], %(r_sev)s::text[],
                        %(r_title)s::text[]) AS r(rule, klass, sev, title) ON r.rule = x.rule
            CROSS JOIN LATERAL (SELECT 'board:' || x.board_id || ':' || x.rule AS key) k
            ORDER BY key
            """,
            {**common, **rules, "unresolved": v.unresolved},
        ),
        (
            "incident_events",
            """
            INSERT INTO incident_events (incident_id, at, kind, actor, note, data)
            SELECT id, opened_at, 'opened', 'engine:' || rule, NULL, '{}' FROM incidents;
            INSERT INTO incident_events (incident_id, at, kind, actor, note, data)
            SELECT id, opened_at + interval '62 s', 'notified', 'engine:' || rule, NULL,
                   jsonb_build_object('channel', 'email', 'recipients', 2)
            FROM incidents WHERE severity IN ('critical', 'major');
            INSERT INTO incident_events (incident_id, at, kind, actor, note, data)
            SELECT id, acknowledged_at, 'acknowledged', acknowledged_by, NULL, '{}'
            FROM incidents WHERE acknowledged_at IS NOT NULL;
            INSERT INTO incident_events (incident_id, at, kind, actor, note, data)
            SELECT id, opened_at + (coalesce(resolved_at, %(now)s) - opened_at) * 0.5,
                   'comment', coalesce(acknowledged_by, 'van.hanh'),
                   'Đã gọi tổ kỹ thuật, đang kiểm tra nguồn / technicians called', '{}'
            FROM incidents WHERE id %% 5 = 0;
            INSERT INTO incident_events (incident_id, at, kind, actor, note, data)
            SELECT id, resolved_at, 'resolved', resolved_by, resolution_note, '{}'
            FROM incidents WHERE resolved_at IS NOT NULL
            """,
            common,
        ),
        (
            "tickets",
            # One ticket for every eighth major or critical incident; those
            # of unresolved incidents are still being worked on.
            """
            CREATE TEMP TABLE bench_ticket_src AS
            SELECT i.id AS incident_id, i.board_id, i.site_id, i.opened_at, i.resolved_at,
                   i.severity, i.title, st.team
            FROM incidents i JOIN site_teams st ON st.site_id = i.site_id
            WHERE i.severity IN ('critical', 'major') AND i.board_id IS NOT NULL
              AND (i.id %% 8 = 0 OR (i.state <> 'resolved' AND i.id %% 3 = 0));
            INSERT INTO tickets (board_id, site_id, kind, priority, state, title, description,
                                 assignee, team, due_at, source_key, created_by, created_at,
                                 updated_at, resolved_at, closed_at, closing_note)
            SELECT board_id, site_id, 'corrective',
                   CASE WHEN severity = 'critical' THEN 'urgent' ELSE 'high' END,
                   CASE WHEN resolved_at IS NOT NULL THEN 'closed'
                        ELSE (ARRAY['open', 'assigned', 'in_progress', 'on_hold'])
                             [1 + incident_id %% 4] END,
                   title, 'Kiểm tra tại chỗ / on-site check',
                   CASE WHEN resolved_at IS NOT NULL OR incident_id %% 4 > 0
                        THEN 'ky.thuat' END,
                   team, opened_at + interval '2 days', 'incident:' || incident_id,
                   'van.hanh', opened_at + interval '10 min',
                   coalesce(resolved_at, %(now)s),
                   resolved_at, resolved_at + interval '1 hour',
                   CASE WHEN resolved_at IS NOT NULL THEN 'Đã sửa / repaired' END
            FROM bench_ticket_src ORDER BY opened_at;
            INSERT INTO ticket_incidents (ticket_id, incident_id)
            SELECT t.id, substr(t.source_key, 10)::bigint FROM tickets t;
            INSERT INTO ticket_events (ticket_id, at, actor, kind, from_state, to_state, note)
            SELECT id, created_at, created_by, 'created', NULL, 'open', NULL FROM tickets
            UNION ALL
            SELECT id, created_at + interval '20 min', 'van.hanh', 'assigned', NULL, NULL,
                   assignee FROM tickets WHERE assignee IS NOT NULL
            UNION ALL
            SELECT id, closed_at, 'ky.thuat', 'transition', 'resolved', 'closed', closing_note
            FROM tickets WHERE closed_at IS NOT NULL;
            INSERT INTO ticket_costs (ticket_id, category, description, quantity, amount_vnd,
                                      recorded_by, recorded_at)
            SELECT id, (ARRAY['power', 'repair', 'maintenance', 'internet', 'other'])
                       [1 + id %% 5], 'Vật tư / parts', 1 + id %% 3, 150000 + (id %% 20) * 50000,
                   'ky.thuat', closed_at
            FROM tickets WHERE closed_at IS NOT NULL AND id %% 3 = 0
            """,
            common,
        ),
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
    raw = {"points": raw_points, "interval": v.raw_interval_s, **common}
    # Time-major (an interval's samples of every board, then the next), as ingest writes.
    times = """
        FROM generate_series(1, %(points)s) n
        CROSS JOIN LATERAL (SELECT %(now)s - (%(points)s - n) * make_interval(
                                secs => %(interval)s) AS at) t
        CROSS JOIN boards b
        ORDER BY n, b.id
    """
    steps += [
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


def _accounts_and_audit(v: Volumes, now: datetime) -> list[tuple[str, str, dict[str, Any]]]:
    common = {"now": now, "start": now - timedelta(days=v.days)}
    return [
        (
            "users",
            """
            INSERT INTO users (username, full_name, role, organisation_id, team, password_hash,
                               created_at, updated_at, password_changed_at)
            VALUES ('quan.tri', 'Quản trị hệ thống', 'admin', NULL, NULL, %(hash)s,
                    %(start)s, %(start)s, %(start)s),
                   ('van.hanh', 'Trực vận hành BQL KKT', 'operator',
                    (SELECT id FROM organisations WHERE code = 'bql-kkt'), NULL, %(hash)s,
                    %(start)s, %(start)s, %(start)s),
                   ('ky.thuat', 'Kỹ thuật viên biên giới', 'technician',
                    (SELECT id FROM organisations WHERE code = 'bql-kkt'),
                    'to-ky-thuat-bien-gioi', %(hash)s, %(start)s, %(start)s, %(start)s);
            INSERT INTO users (username, full_name, role, organisation_id, team, password_hash,
                               created_at, updated_at, password_changed_at)
            SELECT 'nhan.vien.' || g, 'Nhân viên ' || g,
                   (ARRAY['operator', 'technician', 'viewer', 'border_guard'])[1 + g %% 4],
                   (SELECT id FROM organisations ORDER BY id OFFSET g %% 10 LIMIT 1),
                   NULL, %(hash)s, %(start)s, %(start)s, %(start)s
            FROM generate_series(1, %(staff)s) g
            """,
            {**common, "staff": v.staff},
        ),
        (
            "api_tokens (history), audit_log",
            # Two logins a working day per account (each a bearer token or a
            # console session, long expired), some failures, and an audit row
            # for every human action on incidents and tickets.
            """
            CREATE TEMP TABLE bench_logins AS
            SELECT u.id AS user_id, u.username,
                   date_trunc('day', %(start)s) + d * interval '1 day'
                       + interval '1 hour' + random() * interval '10 hours' AS at,
                   ('10.' || (u.id %% 250) || '.1.' || (1 + d %% 200))::inet AS address
            FROM users u, generate_series(0, %(days)s - 1) d, generate_series(1, 2) k
            WHERE u.id IS NOT NULL;
            INSERT INTO api_tokens (token_hash, user_id, kind, csrf_token, address, created_at,
                                    expires_at, last_used_at, revoked_at)
            SELECT decode(md5(user_id || ':' || at) || md5(at || ':' || user_id), 'hex'),
                   user_id, CASE WHEN user_id %% 2 = 0 THEN 'session' ELSE 'bearer' END,
                   CASE WHEN user_id %% 2 = 0 THEN md5(at::text) END, address, at,
                   at + interval '8 hours', at + interval '1 hour',
                   CASE WHEN user_id %% 3 = 0 THEN at + interval '2 hours' END
            FROM bench_logins ORDER BY at;
            INSERT INTO audit_log (at, actor, actor_user_id, action, target_type, target_id,
                                   address, detail)
            SELECT at, username, user_id, 'login', 'user', user_id::text, address, 'api token'
            FROM bench_logins
            UNION ALL
            SELECT at - interval '30 s', username, NULL, 'login_failed', 'user',
                   user_id::text, address, 'wrong password'
            FROM bench_logins WHERE random() < 0.05
            UNION ALL
            SELECT acknowledged_at, acknowledged_by, NULL, 'incident.acknowledge', 'incident',
                   id::text, '10.0.1.10', NULL
            FROM incidents WHERE acknowledged_at IS NOT NULL
            UNION ALL
            SELECT resolved_at, resolved_by, NULL, 'incident.resolve', 'incident', id::text,
                   '10.0.1.10', resolution_note
            FROM incidents WHERE resolved_by NOT LIKE 'engine:%%'
            UNION ALL
            SELECT at, actor, NULL, 'ticket.' || kind, 'ticket', ticket_id::text, '10.0.1.11',
                   note
            FROM ticket_events
            ORDER BY 1
            """,
            {**common, "days": v.days},
        ),
    ]


BULK = {
    "telemetry_heartbeat",
    "telemetry_power",
    "telemetry_network",
    "telemetry_camera",
    "telemetry_display",
    "heartbeat_hourly",
    "power_hourly",
    "network_hourly",
    "camera_hourly",
    "display_hourly",
}


def _drop_indexes(conn: Conn, table: str) -> list[str]:
    """Drop the table's constraints with indexes and its other indexes;
    return the statements that put them back as they were."""
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('p', 'u')",
        (table,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        " AND tablename = %s AND indexname <> ALL(%s)",
        (table, [c[0] for c in constraints]),
    ).fetchall()
    for name, _ in constraints:
        conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    return [f'ALTER TABLE {table} ADD CONSTRAINT "{n}" {d}' for n, d in constraints] + [
        str(d) for _, d in indexes
    ]


def load(
    conn: Conn,
    volumes: Volumes,
    now: datetime,
    password_hash: str,
    report: Callable[[str, float], None] = lambda _step, _s: None,
) -> dict[str, float]:
    """Write the fleet into a freshly migrated database. Returns seconds per step."""
    timings: dict[str, float] = {}
    conn.execute("SELECT setseed(0.2026)")
    t0 = time.monotonic()
    seed(conn, [])  # the simulator's organisations and approved content
    timings["organisations"] = time.monotonic() - t0
    steps = _steps(volumes, now)
    accounts = _accounts_and_audit(volumes, now)
    # Accounts after tickets (audit reads them), before the telemetry.
    order = steps[:10] + accounts + steps[10:]
    base = {"now": now, "start": now - timedelta(days=volumes.days), "hash": password_hash}
    for name, sql_text, params in order:
        t0 = time.monotonic()
        table = name.split(" ")[0]
        with conn.transaction():
            # The big tables are filled without their indexes, which are then
            # built once from sorted data: the same schema, minutes sooner.
            rebuild = _drop_indexes(conn, table) if table in BULK else []
            for statement in (s for s in sql_text.split(";\n") if s.strip()):
                given = {**base, **params}
                used = {k: v for k, v in given.items() if f"%({k})s" in statement}
                conn.execute(statement, used)
            for statement in rebuild:
                conn.execute(statement)
        timings[name] = time.monotonic() - t0
        report(name, timings[name])
    t0 = time.monotonic()
    conn.execute("VACUUM (ANALYZE)")
    timings["vacuum analyze"] = time.monotonic() - t0
    report("vacuum analyze", timings["vacuum analyze"])
    return timings


TABLES = (
    "sites",
    "boards",
    "cameras",
    "board_status",
    "board_status_history",
    "board_latest",
    "incidents",
    "incident_events",
    "tickets",
    "ticket_events",
    "ticket_costs",
    "maintenance_windows",
    "users",
    "api_tokens",
    "audit_log",
    "telemetry_heartbeat",
    "telemetry_power",
    "telemetry_network",
    "telemetry_camera",
    "telemetry_display",
    "heartbeat_hourly",
    "power_hourly",
    "network_hourly",
    "camera_hourly",
    "display_hourly",
)


def table_sizes(conn: Conn) -> dict[str, dict[str, Any]]:
    """Rows (exact) and total size with indexes, per table."""
    out: dict[str, dict[str, Any]] = {}
    for table in TABLES:
        row = conn.execute(
            f"SELECT count(*), pg_total_relation_size('{table}'),"
            f" pg_size_pretty(pg_total_relation_size('{table}')) FROM {table}"
        ).fetchone()
        assert row is not None
        out[table] = {"rows": int(row[0]), "bytes": int(row[1]), "size": str(row[2])}
    return out


def unresolved_counts(conn: Conn) -> dict[str, int]:
    rows = conn.execute("SELECT state, count(*) FROM incidents GROUP BY 1").fetchall()
    return {str(s): int(n) for s, n in rows}
