"""The rows the API benchmark's pages need besides the fleet's history
(``bench/api_data.py``): releases and rollouts, data usage and budgets, log
bundles, snapshots, commands, content with its suppliers and submissions,
emergency orders, preventive schedules, rule overrides, contacts, routes and
notices, compliance days and proof of play.

Modest volumes, appended to a loaded database without reloading it: the
step runs once, when ``bench_meta`` has no row ``EXTRAS_KEY`` (a new
version of this module bumps the key and appends only what it adds).
"""

from __future__ import annotations

import gzip
import json
import time
from datetime import datetime, timedelta
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

EXTRAS_KEY = "extras-v1"

JOURNAL = gzip.compress(
    "\n".join(
        f"Dec 07 0{h}:00:00 board fleet-agent[812]: heartbeat sent seq={h * 120}" for h in range(10)
    ).encode()
)
DIAGNOSTICS = gzip.compress(json.dumps({"disk": {"free_percent": 61}, "uptime_s": 86400}).encode())
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 6 + b"\xff\xd9"

STEPS: list[tuple[str, str]] = [
    (
        "releases, rollouts",
        """
        INSERT INTO releases (version, artifact, size, sha256, key_id, signature, manifest,
                              notes, created_by, created_at)
        SELECT v, 'fleet-agent-' || v || '.tar.gz', 4200000 + n * 1000,
               md5(v) || md5(v || 'x'), '0123456789abcdef', 'sig-' || v,
               jsonb_build_object('version', v), 'Bản phát hành ' || v, 'quan.tri',
               %(start)s + n * interval '40 days'
        FROM unnest(ARRAY['0.1.0', '0.2.0', '0.2.1', '0.3.0']) WITH ORDINALITY r(v, n);
        INSERT INTO rollouts (version, target, waves, pause_s, max_failure_percent,
                              health_deadline_s, state, reason, current_wave, starts_at,
                              created_by, created_at, finished_at, updated_at)
        VALUES
          ('0.2.0', '{"organisation_id": null, "site_ids": null, "board_ids": null}',
           '[{"count": 50, "percent": null}, {"count": null, "percent": 100}]', 3600, 5, 600,
           'completed', NULL, 2, %(start)s + interval '45 days', 'quan.tri',
           %(start)s + interval '45 days', %(start)s + interval '47 days',
           %(start)s + interval '47 days'),
          ('0.2.1', jsonb_build_object('organisation_id', %(org)s),
           '[{"count": 20, "percent": null}, {"count": null, "percent": 100}]', 3600, 5, 600,
           'aborted', 'too many failures', 1, %(start)s + interval '85 days', 'quan.tri',
           %(start)s + interval '85 days', %(start)s + interval '85 days 2 hours',
           %(start)s + interval '85 days 2 hours'),
          ('0.3.0', jsonb_build_object('organisation_id', %(org)s),
           '[{"count": 50, "percent": null}, {"count": null, "percent": 25},
             {"count": null, "percent": 100}]', 3600, 5, 600,
           'running', NULL, 2, %(now)s - interval '1 day', 'quan.tri',
           %(now)s - interval '1 day', NULL, %(now)s - interval '1 hour'),
          ('0.3.0', '{"site_ids": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}',
           '[{"count": null, "percent": 100}]', 0, 5, 600,
           'scheduled', NULL, 0, %(now)s + interval '2 days', 'quan.tri',
           %(now)s - interval '2 hours', NULL, %(now)s - interval '2 hours');
        INSERT INTO rollout_boards (rollout_id, board_id, position, wave, state,
                                    version_before, version_after, sent_at, installed_at,
                                    updated_at)
        SELECT r.id, b.id, row_number() OVER w,
               CASE WHEN row_number() OVER w <= 50 THEN 1 ELSE 2 END, 'healthy',
               '0.1.0', '0.2.0', r.starts_at, r.starts_at + interval '10 min', r.finished_at
        FROM rollouts r, boards b WHERE r.version = '0.2.0'
        WINDOW w AS (ORDER BY b.id);
        INSERT INTO rollout_boards (rollout_id, board_id, position, wave, state, reason,
                                    version_before, version_after, sent_at, updated_at)
        SELECT r.id, b.id, row_number() OVER w,
               CASE WHEN row_number() OVER w <= 20 THEN 1 ELSE 2 END,
               CASE WHEN row_number() OVER w <= 12 THEN 'healthy'
                    WHEN row_number() OVER w <= 20 THEN 'failed' ELSE 'cancelled' END,
               CASE WHEN row_number() OVER w BETWEEN 13 AND 20 THEN 'did not come back' END,
               '0.2.0', CASE WHEN row_number() OVER w <= 12 THEN '0.2.1' END,
               CASE WHEN row_number() OVER w <= 20 THEN r.starts_at END, r.updated_at
        FROM rollouts r, boards b JOIN sites s ON s.id = b.site_id
        WHERE r.version = '0.2.1' AND s.organisation_id = %(org)s
        WINDOW w AS (ORDER BY b.id);
        INSERT INTO rollout_boards (rollout_id, board_id, position, wave, state,
                                    version_before, version_after, sent_at, installed_at,
                                    updated_at)
        SELECT id, board_id, pos, wave, state, '0.2.0',
               CASE WHEN state = 'healthy' THEN '0.3.0' END,
               CASE WHEN state <> 'pending' THEN starts_at END,
               CASE WHEN state IN ('healthy', 'installed') THEN starts_at + interval '9 min' END,
               updated_at
        FROM (SELECT r.id, b.id AS board_id, r.starts_at, r.updated_at,
                     row_number() OVER w AS pos, count(*) OVER () AS total
              FROM rollouts r, boards b JOIN sites s ON s.id = b.site_id
              WHERE r.version = '0.3.0' AND r.state = 'running' AND s.organisation_id = %(org)s
              WINDOW w AS (ORDER BY b.id)) x
        CROSS JOIN LATERAL (SELECT
            CASE WHEN pos <= 50 THEN 1 WHEN pos <= 50 + ceil(total * 0.25) THEN 2 ELSE 3 END
            AS wave) w
        CROSS JOIN LATERAL (SELECT
            CASE WHEN wave = 1 THEN 'healthy' WHEN wave = 3 THEN 'pending'
                 WHEN pos %% 5 = 0 THEN 'sent' WHEN pos %% 7 = 0 THEN 'installed'
                 ELSE 'healthy' END AS state) st;
        INSERT INTO rollout_boards (rollout_id, board_id, position, wave, state, updated_at)
        SELECT r.id, b.id, row_number() OVER (ORDER BY b.id), 1, 'pending', r.updated_at
        FROM rollouts r, boards b
        WHERE r.state = 'scheduled' AND b.site_id BETWEEN 1 AND 10
        """,
    ),
    (
        "data usage, budgets",
        # A row per board and day for two months; month totals running.
        """
        INSERT INTO board_data_usage (device_id, day, sent, received, month_sent,
                                      month_received, measured_at, updated_at)
        SELECT device_id, day, sent, received,
               sum(sent) OVER m, sum(received) OVER m, day + interval '23 hours 55 min',
               day + interval '23 hours 55 min'
        FROM (SELECT b.id AS device_id, d::date AS day,
                     (800000 + random() * 400000)::bigint AS sent,
                     (300000 + random() * 200000)::bigint AS received
              FROM boards b, generate_series(date_trunc('month', %(now)s) - interval '1 month',
                                             %(now)s - interval '1 day', interval '1 day') d
             ) x
        WINDOW m AS (PARTITION BY device_id, date_trunc('month', day) ORDER BY day)
        ORDER BY day, device_id;
        INSERT INTO data_budgets (site_id, monthly_bytes, adaptive, updated_by, updated_at)
        SELECT id, 3000000000, id %% 3 = 0, 'van.hanh', %(now)s - interval '20 days'
        FROM sites WHERE id %% 10 = 0;
        INSERT INTO data_budgets (board_id, monthly_bytes, adaptive, updated_by, updated_at)
        SELECT id, 1000000000, true, 'van.hanh', %(now)s - interval '10 days'
        FROM boards WHERE site_id %% 100 = 1
        """,
    ),
    (
        "commands, log bundles, snapshots",
        """
        INSERT INTO board_commands (request_id, board_id, command, args, state, created_by,
                                    created_at, expires_at, attempts, sent_at, delivered_at,
                                    finished_at, result_status, output)
        SELECT 'bench-' || b.id || '-' || k, b.id,
               CASE WHEN k = 1 THEN 'screenshot' ELSE 'collect_logs' END, '{}', 'succeeded',
               'van.hanh', t, t + interval '10 min', 1, t, t + interval '1 s',
               t + interval '5 s', 'ok', '{}'
        FROM boards b, generate_series(1, 2) k,
             LATERAL (SELECT %(now)s - random() * interval '7 days' AS t
                      WHERE b.id IS NOT NULL) x
        WHERE k = 1 OR b.site_id %% 5 = 0;
        INSERT INTO log_bundles (device_id, boot, seq, measured_at, sent_at, received_at,
                                 replay, request_id, kind, captured_at, since, lines,
                                 truncated, original_bytes, body)
        SELECT board_id, 1, 900000 + id, finished_at, finished_at, finished_at, false,
               request_id, CASE WHEN id %% 2 = 0 THEN 'journal' ELSE 'diagnostics' END,
               finished_at,
               CASE WHEN id %% 2 = 0 THEN finished_at - interval '1 hour' END, 10, false, 600,
               CASE WHEN id %% 2 = 0 THEN %(journal)s ELSE %(diagnostics)s END
        FROM board_commands WHERE command = 'collect_logs';
        INSERT INTO snapshots (device_id, boot, seq, measured_at, sent_at, received_at,
                               replay, source, reason, captured_at, width, height, phash, jpeg)
        SELECT b.id, 1, 800000 + k, t, t, t, false, 'screen', 'interval', t, 640, 360,
               substr(md5(b.id || k), 1, 16), %(jpeg)s
        FROM boards b, generate_series(1, 3) k,
             LATERAL (SELECT %(now)s - k * interval '8 hours' AS t WHERE b.id IS NOT NULL) x
        """,
    ),
    (
        "content, suppliers, submissions",
        """
        INSERT INTO content_items (title, kind, language, sha256, valid_from, valid_to,
                                   from_department, approved_by, approved_at)
        SELECT 'Tuyên truyền số ' || g || ' / campaign ' || g,
               (ARRAY['propaganda', 'propaganda', 'advertising', 'emergency'])[1 + g %% 4],
               CASE WHEN g %% 5 = 0 THEN 'en' ELSE 'vi' END,
               md5('content' || g) || md5('content' || g || 'x'),
               %(start)s + g * interval '12 hours',
               CASE WHEN g %% 3 = 0 THEN %(start)s + g * interval '12 hours' + interval '60 days'
               END, g %% 4 = 0, 'quan.tri', %(start)s + g * interval '12 hours'
        FROM generate_series(1, 300) g;
        INSERT INTO content_suppliers (name, organisation_id, obligation, min_items,
                                       obligation_from)
        SELECT 'Đơn vị cung cấp ' || code, id,
               CASE WHEN kind = 'district_committee' THEN 'quarterly' ELSE 'monthly' END, 2,
               %(start)s::date
        FROM organisations WHERE kind <> 'border_guard';
        INSERT INTO content_submissions (title, category, kind, language, sha256, description,
                                         supplier_id, state, submitted_by, submitted_at,
                                         updated_at)
        SELECT 'Bài gửi số ' || g || ' / submission ' || g,
               (ARRAY['policy', 'local'])[1 + g %% 2], 'propaganda', 'vi',
               md5('submission' || g) || md5('submission' || g || 'x'), 'Nội dung gửi duyệt',
               (SELECT id FROM content_suppliers ORDER BY id OFFSET g %% 10 LIMIT 1),
               (ARRAY['submitted', 'under_appraisal', 'approved', 'returned', 'approved'])
                   [1 + g %% 5],
               'van.hanh', %(start)s + g * interval '8 hours',
               %(start)s + g * interval '8 hours' + interval '2 days'
        FROM generate_series(1, 400) g;
        INSERT INTO content_submission_events (submission_id, at, actor, action, from_state,
                                               to_state, sha256)
        SELECT id, submitted_at, submitted_by, 'submit', NULL, 'submitted', sha256
        FROM content_submissions
        UNION ALL
        SELECT id, updated_at, 'quan.tri', 'start_appraisal', 'submitted', 'under_appraisal',
               NULL
        FROM content_submissions WHERE state <> 'submitted'
        """,
    ),
    (
        "orders, schedules, overrides",
        """
        INSERT INTO emergency_orders (authority, document_number, document_date, summary,
                                      starts_at, ends_at, all_sites, created_by, created_at)
        SELECT 'UBND tỉnh Lai Châu', g || '/QĐ-UBND', (%(start)s + g * interval '30 days')::date,
               'Lệnh phát khẩn cấp / emergency broadcast order ' || g,
               %(start)s + g * interval '30 days',
               %(start)s + g * interval '30 days' + interval '2 days', g = 5, 'quan.tri',
               %(start)s + g * interval '30 days'
        FROM generate_series(1, 5) g;
        INSERT INTO emergency_order_sites (order_id, site_id)
        SELECT o.id, s.id FROM emergency_orders o, sites s
        WHERE NOT o.all_sites AND s.id %% 100 = o.id %% 100;
        INSERT INTO preventive_schedules (site_id, every_days, next_due_on, title, priority,
                                          created_by)
        SELECT id, 90, (%(now)s + (id %% 90) * interval '1 day')::date,
               'Bảo dưỡng quý / quarterly service', 'normal', 'van.hanh'
        FROM sites;
        INSERT INTO rule_overrides (rule, organisation_id, params, updated_by)
        SELECT 'disk_full', id, '{"open_above": 95, "clear_below": 85}', 'quan.tri'
        FROM organisations;
        INSERT INTO rule_overrides (rule, site_id, params, updated_by)
        SELECT 'board_lost', id, '{"for_s": 900}', 'quan.tri' FROM sites WHERE id %% 50 = 0;
        INSERT INTO rule_overrides (rule, board_id, params, updated_by)
        SELECT 'overheating', id, '{"open_above": 80, "clear_below": 70}', 'quan.tri'
        FROM boards WHERE site_id %% 200 = 0
        """,
    ),
    (
        "contacts, routes, notices",
        # Incident notices of the last 30 days' major and critical incidents.
        """
        INSERT INTO contacts (organisation_id, kind, name, email, language)
        SELECT o.id, CASE WHEN k = 1 THEN 'duty_desk' ELSE 'person' END,
               CASE WHEN k = 1 THEN 'Trực ban ' || o.code ELSE 'Cán bộ ' || k || ' ' || o.code
               END, 'lien.he.' || k || '@' || o.code || '.laichau.gov.vn', 'vi'
        FROM organisations o, generate_series(1, 3) k;
        INSERT INTO notification_routes (organisation_id, min_severity, channel, contact_id,
                                         escalation_level, note)
        SELECT organisation_id, CASE WHEN kind = 'duty_desk' THEN 'minor' ELSE 'major' END,
               'email', id, CASE WHEN name LIKE 'Cán bộ 3%%' THEN 1 ELSE 0 END, 'bench'
        FROM contacts;
        INSERT INTO notification_outbox (created_at, idempotency_key, kind, channel,
            contact_id, language, subject, body_text, payload, incident_id, site_id, board_id,
            available_at, state, attempts, next_attempt_at, sent_at, message_id, severity)
        SELECT i.opened_at + interval '60 s', 'bench:' || i.id || ':' || c.id,
               'incident_opened', 'email', c.id, 'vi', i.title, i.title, '{}', i.id, i.site_id,
               i.board_id, i.opened_at + interval '60 s', 'sent', 1,
               i.opened_at + interval '60 s', i.opened_at + interval '62 s',
               '<' || i.id || '.' || c.id || '@bench>', i.severity
        FROM incidents i JOIN contacts c ON c.organisation_id = i.organisation_id
        WHERE i.opened_at > %(now)s - interval '30 days'
          AND i.severity IN ('critical', 'major') AND c.kind = 'duty_desk'
        ORDER BY i.opened_at;
        INSERT INTO notification_deliveries (outbox_id, attempted_at, ok, message_id, worker,
                                             channel)
        SELECT id, sent_at, true, message_id, 'bench', channel FROM notification_outbox
        """,
    ),
    (
        "compliance days, plays",
        # Two months of judged days for every board; two days of plays
        # (one an hour) for every board.
        """
        INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,
            total_minutes, advertising_minutes, emergency_minutes, morning_unknown,
            afternoon_unknown, status, basis, counted_minutes, advertising_share_percent,
            advertising_ceiling_percent, advertising_ceiling_from)
        SELECT b.id, d::date, m, a, m + a + 300, 20, 0, 0, 0,
               CASE WHEN m >= 120 AND a >= 120 THEN 'compliant' ELSE 'non_compliant' END,
               '{"windows": {"morning": ["06:30:00", "09:30:00"],
                             "afternoon": ["16:30:00", "19:30:00"]},
                 "thresholds_minutes": {"morning": 120, "afternoon": 120},
                 "emergency_orders": {}}', m + a + 300, 4.0, 20.0, 'fleet'
        FROM boards b, generate_series((%(now)s::date - 60)::timestamp,
                                      (%(now)s::date - 1)::timestamp, interval '1 day') d,
             LATERAL (SELECT 100 + random() * 80 AS m, 110 + random() * 70 AS a
                      WHERE b.id IS NOT NULL) x
        ORDER BY d, b.id;
        INSERT INTO play_log (device_id, content_sha256, started_at, ended_at, content_id,
                              content_kind, content_language, source)
        SELECT b.id, md5('content' || (1 + h %% 300)) || md5('content' || (1 + h %% 300) || 'x'),
               t, t + interval '50 min', 'tuyen-truyen-' || (1 + h %% 300), 'propaganda', 'vi',
               'player'
        FROM generate_series(1, 48) h
        CROSS JOIN LATERAL (SELECT date_trunc('hour', %(now)s) - h * interval '1 hour' AS t) t
        CROSS JOIN boards b
        ORDER BY t, b.id
        """,
    ),
]


def load_extras(conn: Conn, now: datetime, days: int, report: Any) -> dict[str, float]:
    """Append the extras unless ``bench_meta`` says they are there (two runs
    starting together: the second waits for the first's, then finds them)."""
    done = "SELECT 1 FROM bench_meta WHERE key = %s"
    if conn.execute(done, (EXTRAS_KEY,)).fetchone():
        return {}
    org = conn.execute("SELECT id FROM organisations WHERE code = 'bql-kkt'").fetchone()
    params: dict[str, Any] = {
        "now": now,
        "start": now - timedelta(days=days),
        "org": org[0] if org else None,
        "journal": JOURNAL,
        "diagnostics": DIAGNOSTICS,
        "jpeg": JPEG,
    }
    timings: dict[str, float] = {}
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (EXTRAS_KEY,))
        if conn.execute(done, (EXTRAS_KEY,)).fetchone():
            return {}
        for name, sql_text in STEPS:
            t0 = time.monotonic()
            for statement in (s for s in sql_text.split(";\n") if s.strip()):
                used = {k: v for k, v in params.items() if f"%({k})s" in statement}
                conn.execute(statement, used)
            timings[name] = time.monotonic() - t0
            report(f"extras: {name}", timings[name])
        conn.execute(
            "INSERT INTO bench_meta VALUES (%s, %s)",
            (EXTRAS_KEY, json.dumps({"at": now.isoformat(), "seconds": timings})),
        )
    for table in ("board_data_usage", "compliance_days", "play_log", "notification_outbox"):
        conn.execute(f"ANALYZE {table}")
    return timings
