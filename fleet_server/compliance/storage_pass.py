"""One pass over a day's display samples: its figures and its play log.

What is counted is storage.py's (its docstring is the rule, Điều 8.1); this
module only computes it once per (board, local day) instead of twice, and
board-day by board-day instead of over the whole batch at once:

* each board-day's samples are read through the (device, time) index and
  made distinct per instant inside one LATERAL subquery, so every sort is
  one board-day's (a few thousand rows, in memory), never the batch's
  millions; one window over them, in the index's order, gives each sample
  how far it holds and what it needs of the sample before it;
* samples in a row that go to the same sums (and, on air with a hash, to
  the same play) are one run, summed as intervals (exact); a board-day
  leaves the subquery as its plays and one row for the rest, a hundred rows
  or so, not thousands;
* the day's figures and its play log are both read from those rows, in one
  statement: the plays inserted by a data-modifying WITH, the figures
  returned.

Sums are exact (intervals, then numeric seconds), so summing per run, per
play, then per day gives the very figures a per-day sum of the samples gave
(tests/server/compliance/test_one_pass.py holds the two-pass computation
this replaced and compares the stored rows).
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
# instant (the latest boot and seq), in time order, with its registry kind
# when shown, how far it holds (storage.py's rule) and what it needs to
# know of the sample before it — all from one window over the samples, in
# the order the index gives.
_SAMPLES = """
SELECT d.*,
       GREATEST(d.measured_at, t.day_start) AS c0,
       LEAST(CASE WHEN d.next_at <= d.measured_at + make_interval(secs => %(gap)s)
                  THEN d.next_at
                  -- the last sample before a silence holds one reporting
                  -- interval (the one before it), never more than the gap
                  ELSE d.measured_at + LEAST(d.measured_at - d.prev_at,
                                             make_interval(secs => %(gap)s))
             END, t.day_end) AS c1
  FROM (
    SELECT u.*, lead(u.measured_at) OVER w AS next_at, lag(u.measured_at) OVER w AS prev_at,
           lag(u.class) OVER w AS prev_class, lag(u.sha) OVER w AS prev_sha,
           lag(u.cstart) OVER w AS prev_cstart, lag(u.content_id) OVER w AS prev_content_id,
           lag(u.kind) OVER w AS prev_kind, lag(u.language) OVER w AS prev_language
      FROM (
        SELECT v.*,
               -- which sums a sample goes to: off air; on air without a hash;
               -- with a hash, by its registry kind (none: unapproved)
               CASE WHEN NOT v.on_air THEN 0 WHEN v.sha IS NULL THEN 1
                    WHEN v.registry_kind IS NULL THEN 2
                    WHEN v.registry_kind = 'propaganda' THEN 3
                    WHEN v.registry_kind = 'emergency' THEN 4 ELSE 5 END AS class
          FROM (
            SELECT u0.*, (u0.on_air AND u0.sha IS NOT NULL) AS playable,
                   -- the registry's kind of the file, if approved when shown
                   CASE WHEN ci.valid_from <= u0.measured_at
                         AND (ci.valid_to IS NULL OR ci.valid_to > u0.measured_at)
                        THEN ci.kind END AS registry_kind
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
              ) u0
              LEFT JOIN LATERAL (SELECT c.kind, c.valid_from, c.valid_to FROM content_items c
                                  WHERE c.sha256 = u0.sha) ci ON true
          ) v
      ) u
    WINDOW w AS (ORDER BY u.measured_at)
  ) d"""

# Runs: samples in a row of one class and, on air with a hash, of one play
# (the same hash, reported start and words; without a reported start, no
# gap either), numbered in time order. Only samples that cover some of the
# day (c1 > c0) count; those that do not all come before those that do. A
# run cut where the play goes on is harmless (plays are rebuilt from runs
# by the same rule); two plays in one run would not be, and cannot be.
_RUNS = f"""
SELECT c.*, sum(c.brk) OVER (ORDER BY c.measured_at ROWS UNBOUNDED PRECEDING) AS run
  FROM (
    SELECT s.*,
           -- a run starts at the first sample, after any before the day (of
           -- those, at most the last covers any of it) and where the class changes
           CASE WHEN s.prev_at IS NULL OR s.prev_at < t.day_start OR s.prev_class <> s.class
                THEN 1
                WHEN NOT s.playable THEN 0
                WHEN s.prev_sha IS DISTINCT FROM s.sha OR s.prev_cstart IS DISTINCT FROM s.cstart
                  OR s.prev_content_id IS DISTINCT FROM s.content_id
                  OR s.prev_kind IS DISTINCT FROM s.kind
                  OR s.prev_language IS DISTINCT FROM s.language
                  -- a gap: the sample before was the last before a silence
                  OR (s.cstart IS NULL
                      AND s.measured_at > s.prev_at + make_interval(secs => %(gap)s)) THEN 1
                ELSE 0 END AS brk
      FROM ({_SAMPLES}) s
  ) c
 WHERE c.c1 > c.c0"""

# Per run: its class and play key (taken from its first sample: min() skips
# the NULLs of the others), its span, and the time it covers in the day and
# in each window (as intervals: exact, and cheaper than numeric seconds).
_RUN_SUMS = f"""
SELECT run, bool_and(playable) AS playable, bool_and(on_air) AS on_air,
       bool_and(sha IS NULL) AS no_sha, min(first_kind) AS registry_kind,
       min(first_sha) AS sha, min(first_cstart) AS cstart, min(first_id) AS content_id,
       min(first_kind_said) AS kind, min(first_language) AS language,
       min(c0) AS c0, max(c1) AS c1,
       sum(c1 - c0) AS dur,
       sum(CASE WHEN c1 > t.m_ws AND c0 < t.m_we
                THEN LEAST(c1, t.m_we) - GREATEST(c0, t.m_ws) END) AS m_s,
       sum(CASE WHEN c1 > t.a_ws AND c0 < t.a_we
                THEN LEAST(c1, t.a_we) - GREATEST(c0, t.a_ws) END) AS a_s
  FROM (
    SELECT r.*,
           CASE WHEN r.brk = 1 THEN r.registry_kind END AS first_kind,
           CASE WHEN r.brk = 1 THEN r.sha END AS first_sha,
           CASE WHEN r.brk = 1 THEN r.cstart END AS first_cstart,
           CASE WHEN r.brk = 1 THEN r.content_id END AS first_id,
           CASE WHEN r.brk = 1 THEN r.kind END AS first_kind_said,
           CASE WHEN r.brk = 1 THEN r.language END AS first_language
      FROM ({_RUNS}) r
  ) k
 GROUP BY run"""

# Plays: the runs of one file, those with the same hash and reported start
# that only time off air (or without a hash) separates included; runs off
# air or without a hash are in no play (play IS NULL). The day's sums by
# class, per play.
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
               sum(dur) FILTER (WHERE on_air AND NOT no_sha AND registry_kind IS NULL)
                   AS unapproved_s,
               sum(dur) FILTER (WHERE on_air AND no_sha) AS unidentified_s,
               sum(m_s) FILTER (WHERE counted) AS m_on_s, sum(m_s) AS m_cov_s,
               sum(a_s) FILTER (WHERE counted) AS a_on_s, sum(a_s) AS a_cov_s
          FROM (
            SELECT b.*, CASE WHEN b.playable THEN sum(b.brk) OVER p END AS play
              FROM (
                SELECT s.*,
                       -- Điều 8.1: only approved propaganda (and emergency
                       -- information) counts
                       (s.on_air AND s.registry_kind IN ('propaganda', 'emergency')) AS counted,
                       CASE WHEN lag(s.sha) OVER p IS DISTINCT FROM s.sha
                              OR lag(s.cstart) OVER p IS DISTINCT FROM s.cstart
                              OR (s.cstart IS NULL AND lag(s.c1) OVER p < s.c0)
                            THEN 1 ELSE 0 END AS brk
                  FROM ({_RUN_SUMS}) s
                WINDOW p AS (PARTITION BY s.playable ORDER BY s.c0)
              ) b
            WINDOW p AS (PARTITION BY b.playable ORDER BY b.c0)
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
       COALESCE(extract(epoch FROM d.on_s), 0), COALESCE(extract(epoch FROM d.ad_s), 0),
       COALESCE(extract(epoch FROM d.em_s), 0), COALESCE(extract(epoch FROM d.counted_s), 0),
       COALESCE(extract(epoch FROM d.unapproved_s), 0),
       COALESCE(extract(epoch FROM d.unidentified_s), 0),
       wt.part, wt.ws, wt.we,
       COALESCE(extract(epoch FROM CASE wt.part WHEN 'morning' THEN d.m_on_s ELSE d.a_on_s END), 0),
       COALESCE(extract(epoch FROM CASE wt.part WHEN 'morning' THEN d.m_cov_s ELSE d.a_cov_s END),
                0),
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
