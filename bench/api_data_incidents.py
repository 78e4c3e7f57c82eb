"""Six months of incidents, their events, tickets, accounts and the audit
log, for the API benchmark's data (``bench/api_data.py``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bench.api_volumes import Volumes

Step = tuple[str, str, dict[str, Any]]

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


def _rule_arrays() -> dict[str, list[str]]:
    """One entry per percent of weight, so ``arr[1 + floor(random() * n)]``
    draws a rule with its share."""
    rules: list[str] = []
    for rule, _klass, _severity, weight, _title in BOARD_RULES:
        rules += [rule] * weight
    return {"weighted_rules": rules}


def incident_steps(v: Volumes, now: datetime) -> list[Step]:
    start = now - timedelta(days=v.days)
    per_board = max(1, round(v.incidents / v.boards))
    common: dict[str, Any] = {"now": now, "start": start}
    rules = {
        "r_rule": [r[0] for r in BOARD_RULES],
        "r_class": [r[1] for r in BOARD_RULES],
        "r_sev": [r[2] for r in BOARD_RULES],
        "r_title": [r[4] for r in BOARD_RULES],
    }
    return [
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
    ]


def accounts_steps(v: Volumes, now: datetime) -> list[Step]:
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
            # for every human action on incidents and tickets. The audit rows
            # are staged here and written by load() in chunks (AUDIT_CHUNK).
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
            CREATE TEMP TABLE bench_audit AS
            SELECT row_number() OVER (ORDER BY a_at) AS n, q.* FROM (
            SELECT at AS a_at, username AS a_actor, user_id AS a_uid, 'login' AS a_action,
                   'user' AS a_tt, user_id::text AS a_tid, address AS a_addr,
                   'api token' AS a_detail
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
            FROM ticket_events) q
            """,
            {**common, "days": v.days},
        ),
    ]
