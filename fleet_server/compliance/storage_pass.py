"""One pass over a day's display samples: its figures and its play log.

What is counted is storage.py's (its docstring is the rule, Điều 8.1); this
module only computes it once per (board, local day) instead of twice, and
board by board instead of over the whole batch at once:

* each board-day's samples are read through the (device, time) index,
  made distinct per instant and given how far they hold, inside one
  LATERAL subquery, so every sort is one board-day's (a few thousand rows,
  in memory), never the batch's millions;
* in the same subquery the samples are cut into plays and summed per play
  (the off-air and unidentified samples in one more group), with each
  sample's overlap with the morning and afternoon windows: a board-day
  leaves the subquery as a hundred rows or so, not thousands;
* the day's figures and the play log are both read from those rows, in one
  statement: the plays are inserted by a data-modifying WITH, the figures
  returned.

Seconds are summed as numeric (``extract(epoch ...)``), which adds exactly,
so summing per play then per day gives the very figures a per-day sum of
the samples gave.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fleet_server.compliance.models import DayMeasure, Window, WindowFigures
from fleet_server.compliance.storage import TARGET, Conn, Pair, params

# The board's windows for each target, one row per part (a board with
# windows of its own uses only those, as the engine's display rule and the
# API do; otherwise its site's). No window for a part: ws and we are NULL.
_WINDOWS = """
windows AS (
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
bounds AS (
    SELECT t.*, m.ws AS m_ws, m.we AS m_we, a.ws AS a_ws, a.we AS a_we
      FROM target t
      LEFT JOIN windows m ON m.board_id = t.board_id AND m.day = t.day AND m.part = 'morning'
      LEFT JOIN windows a ON a.board_id = t.board_id AND a.day = t.day AND a.part = 'afternoon'
)"""

# Per board-day: every sample that can cover part of the day, once per
# instant (the latest boot and seq), with how far it holds (storage.py's
# rule), its registry kind when shown, and its overlap with each window.
_SAMPLES = """
SELECT s.*,
       -- Điều 8.1: only approved propaganda (and emergency information) counts
       (s.on_air AND s.registry_kind IN ('propaganda', 'emergency')) AS counted,
       extract(epoch FROM s.c1 - s.c0) AS dur,
       CASE WHEN s.c1 > t.m_ws AND s.c0 < t.m_we
            THEN extract(epoch FROM LEAST(s.c1, t.m_we) - GREATEST(s.c0, t.m_ws)) END AS m_s,
       CASE WHEN s.c1 > t.a_ws AND s.c0 < t.a_we
            THEN extract(epoch FROM LEAST(s.c1, t.a_we) - GREATEST(s.c0, t.a_ws)) END AS a_s
  FROM (
    SELECT d.measured_at, d.sha, d.cstart, d.content_id, d.kind, d.language, d.on_air,
           -- the registry's kind of the file, if approved when shown
           CASE WHEN ci.valid_from <= d.measured_at
                 AND (ci.valid_to IS NULL OR ci.valid_to > d.measured_at)
                THEN ci.kind END AS registry_kind,
           GREATEST(d.measured_at, t.day_start) AS c0,
           LEAST(CASE WHEN d.next_at <= d.measured_at + make_interval(secs => %(gap)s)
                      THEN d.next_at
                      -- the last sample before a silence holds one reporting
                      -- interval (the one before it), never more than the gap
                      ELSE d.measured_at + LEAST(d.measured_at - d.prev_at,
                                                 make_interval(secs => %(gap)s))
                 END, t.day_end) AS c1
      FROM (
        SELECT u.*, lead(u.measured_at) OVER (ORDER BY u.measured_at) AS next_at,
               lag(u.measured_at) OVER (ORDER BY u.measured_at) AS prev_at
          FROM (
            SELECT DISTINCT ON (x.measured_at)
                   x.measured_at, x.content_sha256 AS sha, x.content_started_at AS cstart,
                   x.content_id, x.content_kind AS kind, x.content_language AS language,
                   (x.player_running AND x.screen_on IS NOT FALSE) AS on_air
              FROM telemetry_display x
             WHERE x.device_id = t.board_id
               AND x.measured_at >= t.day_start - make_interval(secs => %(gap)s)
               AND x.measured_at < t.day_end
             ORDER BY x.measured_at, x.boot DESC, x.seq DESC
          ) u
      ) d
      LEFT JOIN content_items ci ON ci.sha256 = d.sha
  ) s
 WHERE s.c1 > s.c0"""

# Runs of the same file (same hash and same reported start; without a
# reported start, samples that follow each other without a gap) are one
# play; samples off air or without a hash are in no play (play IS NULL).
_GROUPS = f"""
groups AS MATERIALIZED (
    SELECT t.board_id, t.day, g.*
      FROM bounds t
     CROSS JOIN LATERAL (
        SELECT play, min(sha) AS sha,
               LEAST(min(c0), GREATEST(COALESCE(min(cstart), min(c0)), t.day_start))
                   AS started_at,
               max(c1) AS ended_at,
               (array_agg(content_id ORDER BY c0 DESC) FILTER (WHERE content_id IS NOT NULL))[1]
                   AS content_id,
               (array_agg(kind ORDER BY c0 DESC) FILTER (WHERE kind IS NOT NULL))[1] AS kind,
               (array_agg(language ORDER BY c0 DESC) FILTER (WHERE language IS NOT NULL))[1]
                   AS language,
               sum(dur) FILTER (WHERE on_air) AS on_s,
               sum(dur) FILTER (WHERE on_air AND registry_kind = 'advertising') AS ad_s,
               sum(dur) FILTER (WHERE on_air AND registry_kind = 'emergency') AS em_s,
               sum(dur) FILTER (WHERE counted) AS counted_s,
               sum(dur) FILTER (WHERE on_air AND sha IS NOT NULL AND registry_kind IS NULL)
                   AS unapproved_s,
               sum(dur) FILTER (WHERE on_air AND sha IS NULL) AS unidentified_s,
               sum(m_s) FILTER (WHERE counted) AS m_on_s, sum(m_s) AS m_cov_s,
               sum(a_s) FILTER (WHERE counted) AS a_on_s, sum(a_s) AS a_cov_s
          FROM (
            SELECT r.*, CASE WHEN r.playable THEN sum(r.brk) OVER p END AS play
              FROM (
                SELECT c.*, (c.on_air AND c.sha IS NOT NULL) AS playable,
                       CASE WHEN lag(c.sha) OVER p IS DISTINCT FROM c.sha
                              OR lag(c.cstart) OVER p IS DISTINCT FROM c.cstart
                              OR (c.cstart IS NULL AND lag(c.c1) OVER p < c.c0)
                            THEN 1 ELSE 0 END AS brk
                  FROM ({_SAMPLES}) c
                WINDOW p AS (PARTITION BY (c.on_air AND c.sha IS NOT NULL) ORDER BY c.c0)
              ) r
            WINDOW p AS (PARTITION BY r.playable ORDER BY r.c0)
          ) q
         GROUP BY play
     ) g
)"""

_INSERT_PLAYS = """
inserted AS (
    INSERT INTO play_log AS p (device_id, content_sha256, started_at, ended_at, content_id,
                               content_kind, content_language, source, updated_at)
    SELECT board_id, sha, started_at, max(ended_at), max(content_id), max(kind), max(language),
           'display', now()
      FROM groups d
     WHERE play IS NOT NULL
       -- a play the player itself recorded is its record, not a second row
       AND NOT EXISTS (SELECT 1 FROM play_log q
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
)"""

_PASS = f"""
WITH {TARGET},
{_WINDOWS},
{_GROUPS},
{_INSERT_PLAYS},
day_totals AS (
    SELECT board_id, day, sum(on_s) AS on_s, sum(ad_s) AS ad_s, sum(em_s) AS em_s,
           sum(counted_s) AS counted_s, sum(unapproved_s) AS unapproved_s,
           sum(unidentified_s) AS unidentified_s, sum(m_on_s) AS m_on_s,
           sum(m_cov_s) AS m_cov_s, sum(a_on_s) AS a_on_s, sum(a_cov_s) AS a_cov_s
      FROM groups
     GROUP BY board_id, day
)
SELECT t.board_id, t.day, bs.code, bo.code,
       COALESCE(d.on_s, 0), COALESCE(d.ad_s, 0), COALESCE(d.em_s, 0),
       COALESCE(d.counted_s, 0), COALESCE(d.unapproved_s, 0), COALESCE(d.unidentified_s, 0),
       wt.part, wt.ws, wt.we,
       COALESCE(CASE wt.part WHEN 'morning' THEN d.m_on_s ELSE d.a_on_s END, 0),
       COALESCE(CASE wt.part WHEN 'morning' THEN d.m_cov_s ELSE d.a_cov_s END, 0),
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
  LEFT JOIN windows wt ON wt.board_id = t.board_id AND wt.day = t.day
 ORDER BY t.board_id, t.day, wt.part
"""

_CLEAR_PLAYS = f"""
WITH {TARGET}
DELETE FROM play_log p USING target t
 WHERE p.device_id = t.board_id AND p.source = 'display'
   AND p.started_at >= t.day_start AND p.started_at < t.day_end
"""


def measure_and_rebuild_plays(conn: Conn, pairs: Sequence[Pair], gap_s: float) -> list[DayMeasure]:
    """Minutes on air per window and per day for each (board, local day),
    with the display-derived play log of those days rebuilt in the same pass."""
    pairs = list(dict.fromkeys(pairs))
    if not pairs:
        return []
    values = params(pairs, gap_s)
    conn.execute(_CLEAR_PLAYS, values)
    return measures(conn.execute(_PASS, values).fetchall())


def measures(rows: Sequence[tuple[Any, ...]]) -> list[DayMeasure]:
    """DayMeasure from rows of (board, day, site code, organisation code, six
    day totals in seconds, part, window start, window end, counted and
    covered seconds in the window, order id), one row per window."""
    found: dict[Pair, tuple[tuple[Any, ...], dict[str, WindowFigures]]] = {}
    for board_id, day, *seconds, part, ws, we, w_on, w_cov, order_id in rows:
        _, windows = found.setdefault((board_id, day), (tuple(seconds), {}))
        if part is not None and ws is not None:
            window = Window(part, ws, we)
            unknown = max(0.0, window.minutes - float(w_cov) / 60)
            windows[part] = WindowFigures(window, float(w_on) / 60, unknown, order_id)
    result = []
    for (board_id, day), ((site_code, org_code, *seconds), windows) in found.items():
        on, ad, em, counted, unapproved, unidentified = (float(v) / 60 for v in seconds)
        result.append(
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
    return result
