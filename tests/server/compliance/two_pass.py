"""The compliance job's computation as it was before it made one pass
(commit 2b9dd4c): the day's figures from one read of its samples, its play
log rebuilt from a second. Kept as the reference the one pass must equal,
row for row (test_one_pass.py); not used by the server."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleet_server.compliance import storage
from fleet_server.compliance.models import (
    ComplianceSettings,
    DayMeasure,
    Window,
    WindowFigures,
    advertising_share,
    exempting_order,
    verdict,
)
from fleet_server.compliance.storage import TARGET, Conn, Pair, params

# every sample that can cover part of the day, once per instant, with how far it holds
_COVER = """
samples AS (
    SELECT t.board_id, t.day, t.day_start, t.day_end, s.*,
           lead(s.measured_at) OVER w AS next_at, lag(s.measured_at) OVER w AS prev_at
      FROM target t
      CROSS JOIN LATERAL (
          SELECT DISTINCT ON (x.measured_at)
                 x.measured_at, x.content_sha256 AS sha, x.content_started_at AS cstart,
                 x.content_id, x.content_kind AS kind, x.content_language AS language,
                 (x.player_running AND x.screen_on IS NOT FALSE) AS on_air,
                 -- the registry's kind of the file, if approved when shown
                 (SELECT ci.kind FROM content_items ci
                   WHERE ci.sha256 = x.content_sha256 AND ci.valid_from <= x.measured_at
                     AND (ci.valid_to IS NULL OR ci.valid_to > x.measured_at)) AS registry_kind
            FROM telemetry_display x
           WHERE x.device_id = t.board_id
             AND x.measured_at >= t.day_start - make_interval(secs => %(gap)s)
             AND x.measured_at < t.day_end
           ORDER BY x.measured_at, x.boot DESC, x.seq DESC
      ) s
    WINDOW w AS (PARTITION BY t.board_id, t.day ORDER BY s.measured_at)
),
cover AS (
    SELECT board_id, day, day_start, day_end, sha, cstart, content_id, kind, language, on_air,
           -- Điều 8.1: only approved propaganda (and emergency information) counts
           (on_air AND registry_kind IN ('propaganda', 'emergency')) AS counted,
           registry_kind,
           GREATEST(measured_at, day_start) AS c0,
           LEAST(CASE WHEN next_at <= measured_at + make_interval(secs => %(gap)s)
                      THEN next_at
                      -- the last sample before a silence holds one reporting
                      -- interval (the one before it), never more than the gap
                      ELSE measured_at + LEAST(measured_at - prev_at,
                                               make_interval(secs => %(gap)s))
                 END, day_end) AS c1
      FROM samples
)"""

_MEASURE = f"""
WITH {TARGET},
windows AS (
    -- A board with windows of its own uses only those (as the engine's
    -- display rule and the API do); otherwise its site's.
    SELECT t.board_id, t.day, p.part,
           ((t.day + w.starts_at)::timestamp AT TIME ZONE %(tz)s) AS ws,
           ((t.day + w.ends_at)::timestamp AT TIME ZONE %(tz)s) AS we
      FROM target t
      JOIN boards b ON b.id = t.board_id
     CROSS JOIN (VALUES ('morning'), ('afternoon')) AS p (part)
      LEFT JOIN broadcast_windows w ON w.part = p.part AND CASE
               WHEN EXISTS (SELECT 1 FROM broadcast_windows o WHERE o.board_id = b.id)
               THEN w.board_id = b.id ELSE w.site_id = b.site_id END
),
{_COVER},
day_totals AS (
    SELECT board_id, day,
           sum(extract(epoch FROM c1 - c0)) FILTER (WHERE on_air) AS on_s,
           sum(extract(epoch FROM c1 - c0))
               FILTER (WHERE on_air AND registry_kind = 'advertising') AS ad_s,
           sum(extract(epoch FROM c1 - c0))
               FILTER (WHERE on_air AND registry_kind = 'emergency') AS em_s,
           sum(extract(epoch FROM c1 - c0)) FILTER (WHERE counted) AS counted_s,
           sum(extract(epoch FROM c1 - c0))
               FILTER (WHERE on_air AND sha IS NOT NULL AND registry_kind IS NULL) AS unapproved_s,
           sum(extract(epoch FROM c1 - c0)) FILTER (WHERE on_air AND sha IS NULL) AS unidentified_s
      FROM cover WHERE c1 > c0
     GROUP BY board_id, day
),
window_totals AS (
    SELECT w.board_id, w.day, w.part, w.ws, w.we,
           COALESCE(sum(extract(epoch FROM LEAST(c.c1, w.we) - GREATEST(c.c0, w.ws)))
                        FILTER (WHERE c.counted), 0) AS on_s,
           -- (LEAST/GREATEST skip NULLs: the row of a window no sample
           -- touches must not count as covered)
           COALESCE(sum(extract(epoch FROM LEAST(c.c1, w.we) - GREATEST(c.c0, w.ws)))
                        FILTER (WHERE c.c0 IS NOT NULL), 0) AS covered_s
      FROM windows w
      LEFT JOIN cover c ON c.board_id = w.board_id AND c.day = w.day
                       AND c.c1 > c.c0 AND c.c1 > w.ws AND c.c0 < w.we
     GROUP BY w.board_id, w.day, w.part, w.ws, w.we
)
SELECT t.board_id, t.day, bs.code, bo.code,
       COALESCE(d.on_s, 0), COALESCE(d.ad_s, 0), COALESCE(d.em_s, 0),
       COALESCE(d.counted_s, 0), COALESCE(d.unapproved_s, 0), COALESCE(d.unidentified_s, 0),
       wt.part, wt.ws, wt.we, wt.on_s, wt.covered_s,
       -- Điều 8.2: an order in force during the window that covers the board
       (SELECT min(o.id) FROM emergency_orders o
         WHERE o.revoked_at IS NULL AND o.starts_at < wt.we AND o.ends_at > wt.ws
           AND (o.all_sites
                OR EXISTS (SELECT 1 FROM emergency_order_boards ob
                            WHERE ob.order_id = o.id AND ob.board_id = t.board_id)
                OR EXISTS (SELECT 1 FROM emergency_order_sites os
                             JOIN boards b ON b.site_id = os.site_id
                            WHERE os.order_id = o.id AND b.id = t.board_id))) AS order_id
  FROM target t
  LEFT JOIN boards bb ON bb.id = t.board_id
  LEFT JOIN sites bs ON bs.id = bb.site_id
  LEFT JOIN organisations bo ON bo.id = bs.organisation_id
  LEFT JOIN day_totals d ON d.board_id = t.board_id AND d.day = t.day
  LEFT JOIN window_totals wt ON wt.board_id = t.board_id AND wt.day = t.day
 ORDER BY t.board_id, t.day, wt.part
"""


# Runs of the same file (same hash and same reported start; without a
# reported start, samples that follow each other without a gap) are one play.
_PLAYS = f"""
WITH {TARGET},
{_COVER},
playing AS (
    SELECT *, CASE WHEN lag(sha) OVER w IS DISTINCT FROM sha
                     OR lag(cstart) OVER w IS DISTINCT FROM cstart
                     OR (cstart IS NULL AND lag(c1) OVER w < c0)
                   THEN 1 ELSE 0 END AS brk
      FROM cover
     WHERE on_air AND sha IS NOT NULL AND c1 > c0
    WINDOW w AS (PARTITION BY board_id, day ORDER BY c0)
),
grouped AS (
    SELECT *, sum(brk) OVER (PARTITION BY board_id, day ORDER BY c0) AS play FROM playing
),
plays AS (
    SELECT board_id, sha,
           LEAST(min(c0), GREATEST(COALESCE(min(cstart), min(c0)), min(day_start))) AS started_at,
           max(c1) AS ended_at,
           (array_agg(content_id ORDER BY c0 DESC) FILTER (WHERE content_id IS NOT NULL))[1]
               AS content_id,
           (array_agg(kind ORDER BY c0 DESC) FILTER (WHERE kind IS NOT NULL))[1] AS kind,
           (array_agg(language ORDER BY c0 DESC) FILTER (WHERE language IS NOT NULL))[1]
               AS language
      FROM grouped
     GROUP BY board_id, day, play, sha
)
INSERT INTO play_log AS p (device_id, content_sha256, started_at, ended_at, content_id,
                           content_kind, content_language, source, updated_at)
SELECT board_id, sha, started_at, max(ended_at), max(content_id), max(kind), max(language),
       'display', now()
  FROM plays d
 -- a play the player itself recorded is its record, not a second row
 WHERE NOT EXISTS (SELECT 1 FROM play_log q
                    WHERE q.device_id = d.board_id AND q.content_sha256 = d.sha
                      AND q.source = 'player'
                      AND q.started_at < d.ended_at AND q.ended_at > d.started_at)
 GROUP BY board_id, sha, started_at
ON CONFLICT (device_id, started_at, content_sha256) DO UPDATE SET
    ended_at = GREATEST(p.ended_at, EXCLUDED.ended_at),
    content_id = COALESCE(p.content_id, EXCLUDED.content_id),
    content_kind = COALESCE(p.content_kind, EXCLUDED.content_kind),
    content_language = COALESCE(p.content_language, EXCLUDED.content_language),
    updated_at = now()
"""


_CLEAR_PLAYS = f"""
WITH {TARGET}
DELETE FROM play_log p USING target t
 WHERE p.device_id = t.board_id AND p.source = 'display'
   AND p.started_at >= t.day_start AND p.started_at < t.day_end
"""


def compute_two_pass(
    conn: Conn, pairs: Sequence[Pair], now: datetime, settings: ComplianceSettings
) -> None:
    """ComplianceJob.compute as it was: measure, judge, store, then rebuild plays."""
    s = settings
    thresholds = {"morning": s.morning_minutes, "afternoon": s.afternoon_minutes}
    for i in range(0, len(pairs), s.batch):
        chunk = pairs[i : i + s.batch]
        judged = [
            (m, v, exempting_order(m, s) if v == "exempt" else None, advertising_share(m, s))
            for m in _measure(conn, chunk, s.sample_gap_s)
            for v in (verdict(m, now, s),)
        ]
        storage.save_days(conn, judged, thresholds)
        if chunk:
            conn.execute(_CLEAR_PLAYS, params(chunk, s.sample_gap_s))
            conn.execute(_PLAYS, params(chunk, s.sample_gap_s))


def _measure(conn: Conn, pairs: Sequence[Pair], gap_s: float) -> list[DayMeasure]:
    if not pairs:
        return []
    rows = conn.execute(_MEASURE, params(pairs, gap_s)).fetchall()
    found: dict[Pair, tuple[tuple[Any, ...], dict[str, WindowFigures]]] = {}
    for board_id, day, *seconds, part, ws, we, w_on, w_cov, order_id in rows:
        _, windows = found.setdefault((board_id, day), (tuple(seconds), {}))
        if part is not None and ws is not None:
            window = Window(part, ws, we)
            unknown = max(0.0, window.minutes - float(w_cov) / 60)
            windows[part] = WindowFigures(window, float(w_on) / 60, unknown, order_id)
    measures = []
    for (board_id, day), ((site_code, org_code, *seconds), windows) in found.items():
        on, ad, em, counted, unapproved, unidentified = (float(v) / 60 for v in seconds)
        measures.append(
            DayMeasure(
                board_id=board_id,
                day=day,
                total_minutes=on,
                advertising_minutes=ad,
                emergency_minutes=em,
                windows=windows,
                counted_minutes=counted,
                unapproved_minutes=unapproved,
                unidentified_minutes=unidentified,
                site_code=site_code,
                organisation_code=org_code,
            )
        )
    return measures
