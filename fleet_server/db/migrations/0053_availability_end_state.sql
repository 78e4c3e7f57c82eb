-- Availability's open part from the stored days (docs/availability.md;
-- fleet_server/availability/storage.py). A request's period ends today: its
-- closed days are read from board_availability_days (migration 0050) and
-- the rest, today since local midnight, was computed by
-- fleet_board_availability (0016), whose cost is per board whatever the
-- length: two probes of the (board_id, at) index per board, the state in
-- force at the start and the changes after it (~50 µs a board, 0.6 s for
-- 10,000 boards over one hour as over one day).
--
-- Each stored day now also keeps the board's state at its end, so the open
-- part starts from it: fleet_board_availability_open computes the same
-- figures as fleet_board_availability over a period that starts on a local
-- midnight whose previous day is stored, reading the state at the start from
-- that day's row (one range of the (day, board_id) index for every board)
-- and the period's changes from one range of the (at) index, joined by hash
-- instead of probed board by board. A board whose previous day has no state
-- (no row that day, or a row stored before this migration) is probed as
-- before.

-- The state in force when the day ends: the board's latest status history
-- row before the next local midnight ('unknown' when it has none). NULL:
-- stored before this migration (only the newest stored day is filled here;
-- the job and the triggers write it from now on).
ALTER TABLE board_availability_days ADD COLUMN end_state text;

-- As in 0050, with each row's end state.
CREATE OR REPLACE FUNCTION fleet_availability_day_figures(
    p_from date, p_to date, p_site_ids bigint[]
) RETURNS SETOF board_availability_days
LANGUAGE sql STABLE AS $$
    WITH days AS (
        SELECT d::date AS day,
               d::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS starts,
               (d::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS ends
        FROM generate_series(p_from, p_to - 1, interval '1 day') AS d
    ), kept AS (
        SELECT d.day, d.ends AS day_ends, a.* FROM days d
        CROSS JOIN LATERAL fleet_board_availability(d.starts, d.ends, false, p_site_ids) a
    ), excluded AS (
        SELECT d.day, a.* FROM days d
        CROSS JOIN LATERAL fleet_board_availability(d.starts, d.ends, true, p_site_ids) a
    )
    SELECT k.board_id, k.day, k.expected_s, k.up_s, k.down_s, k.unknown_s,
           x.expected_s, x.up_s, x.down_s, x.unknown_s, x.maintenance_s,
           coalesce((SELECT h.state FROM board_status_history h
                      WHERE h.board_id = k.board_id AND h.at < k.day_ends
                      ORDER BY h.at DESC, h.id DESC LIMIT 1), 'unknown')
    FROM kept k JOIN excluded x ON x.day = k.day AND x.board_id = k.board_id
$$;

-- The newest stored day: the one a request's open part starts after.
UPDATE board_availability_days d
SET end_state = coalesce((SELECT h.state FROM board_status_history h
                           WHERE h.board_id = d.board_id
                             AND h.at < (d.day + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
                           ORDER BY h.at DESC, h.id DESC LIMIT 1), 'unknown')
FROM board_availability_state s
WHERE d.day = s.through - 1;

-- A status as 0016 counts it: online is up; offline, lost and stale are
-- down; anything else is unknown.
CREATE FUNCTION fleet_availability_kind(p_state text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN p_state = 'online' THEN 'up'
                WHEN p_state IN ('offline', 'lost', 'stale') THEN 'down'
                ELSE 'unknown' END
$$;

-- fleet_board_availability(p_from, p_to, p_exclude_maintenance, p_site_ids):
-- the same periods, windows and arithmetic (0016 holds the definition; this
-- is its text with the state at the start and the changes read by set
-- instead of per board). The state in force at a board's period start is its
-- latest change at or before it: among the changes since p_from's local
-- midnight, else the end state of the day before when stored, else (none
-- stored) the latest history row, probed as 0016 does. Fast when p_from is
-- near a stored day's end (today's open part); correct for any p_from.
CREATE FUNCTION fleet_board_availability_open(
    p_from timestamptz,
    p_to timestamptz,
    p_exclude_maintenance boolean DEFAULT true,
    p_site_ids bigint[] DEFAULT NULL
) RETURNS TABLE (
    board_id text,
    site_id bigint,
    organisation_id bigint,
    expected_s double precision,
    up_s double precision,
    down_s double precision,
    unknown_s double precision,
    maintenance_s double precision,
    availability double precision
) LANGUAGE sql STABLE AS $$
WITH periods AS (
    SELECT b.id AS board_id, b.site_id, s.organisation_id,
           greatest(p_from, coalesce(b.installed_on::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh',
                                     b.created_at)) AS period_start,
           least(p_to, now(),
                 CASE WHEN NOT b.enabled THEN coalesce(b.disabled_at, '-infinity') END)
               AS period_end
    FROM boards b JOIN sites s ON s.id = b.site_id
    WHERE p_from IS NOT NULL AND p_to IS NOT NULL
      AND (p_site_ids IS NULL OR b.site_id = ANY (p_site_ids))
), live AS (
    SELECT * FROM periods WHERE period_start < period_end
), maintenance AS (
    SELECT m.board_id, range_agg(m.during) AS during
    FROM (
        SELECT l.board_id, o.during * tstzrange(l.period_start, l.period_end) AS during
        FROM live l JOIN fleet_maintenance_occurrences(p_from, p_to) o
          ON o.board_id = l.board_id
        UNION ALL
        SELECT l.board_id, o.during * tstzrange(l.period_start, l.period_end)
        FROM live l JOIN fleet_maintenance_occurrences(p_from, p_to) o
          ON o.site_id = l.site_id
    ) m
    GROUP BY m.board_id
), changes AS (
    -- every change of the live boards from p_from's local midnight to the
    -- latest period end: one range of the (at) index
    SELECT h.board_id, h.at, h.id, h.state, l.period_start, l.period_end
    FROM board_status_history h JOIN live l ON l.board_id = h.board_id
    WHERE h.at >= fleet_local_day(p_from)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'
      AND h.at < least(p_to, now())
), early AS (
    -- the latest change from that midnight up to the period's start
    SELECT DISTINCT ON (c.board_id) c.board_id, c.state
    FROM changes c WHERE c.at <= c.period_start
    ORDER BY c.board_id, c.at DESC, c.id DESC
), starts AS (
    -- each live board's state at its period start; busy: a board whose
    -- period has changes after its start or maintenance, whose segments are
    -- summed below; every other board is in that one state all its period
    SELECT l.board_id, l.site_id, l.organisation_id, l.period_start, l.period_end,
           coalesce(e.state, d.end_state,
                    (SELECT h.state FROM board_status_history h
                      WHERE h.board_id = l.board_id AND h.at <= l.period_start
                      ORDER BY h.at DESC, h.id DESC LIMIT 1),
                    'unknown') AS state,
           m.during,
           m.board_id IS NOT NULL
               OR l.board_id IN (SELECT c.board_id FROM changes c
                                  WHERE c.at > c.period_start AND c.at < c.period_end) AS busy
    FROM live l
    LEFT JOIN early e ON e.board_id = l.board_id
    LEFT JOIN board_availability_days d
      ON d.board_id = l.board_id AND d.day = fleet_local_day(p_from) - 1
    LEFT JOIN maintenance m ON m.board_id = l.board_id
), segments AS (
    -- each change holds until the next one, the last until the period ends
    SELECT c.board_id,
           fleet_availability_kind(c.state) AS kind,
           c.at AS starts,
           coalesce(lead(c.at) OVER w, c.period_end) AS ends,
           date_part('epoch', coalesce(lead(c.at) OVER w, c.period_end) - c.at) AS seconds
    FROM (
        SELECT s.board_id, s.period_start AS at, 0::bigint AS id, s.state, s.period_end
        FROM starts s WHERE s.busy
        UNION ALL
        SELECT c.board_id, c.at, c.id, c.state, c.period_end FROM changes c
        WHERE c.at > c.period_start AND c.at < c.period_end
    ) c
    WINDOW w AS (PARTITION BY c.board_id ORDER BY c.at, c.id)
), sums AS (
    SELECT g.board_id,
           coalesce(sum(g.seconds) FILTER (WHERE g.kind = 'up'), 0) AS up_all,
           coalesce(sum(g.seconds) FILTER (WHERE g.kind = 'down'), 0) AS down_all,
           coalesce(sum(g.seconds) FILTER (WHERE g.kind = 'unknown'), 0) AS unknown_all,
           range_agg(tstzrange(g.starts, g.ends)) FILTER (WHERE g.kind = 'up') AS up_ranges,
           range_agg(tstzrange(g.starts, g.ends)) FILTER (WHERE g.kind = 'down') AS down_ranges
    FROM segments g
    GROUP BY g.board_id
), figures AS (
    SELECT s.board_id, s.site_id, s.organisation_id,
           extract(epoch FROM s.period_end - s.period_start) AS period,
           -- fleet_multirange_seconds is 0 for NULL: not called for the
           -- boards without maintenance (most), as each call costs ~30 µs
           CASE WHEN s.during IS NULL THEN 0
                ELSE coalesce(fleet_multirange_seconds(s.during), 0) END AS maintenance,
           CASE WHEN s.busy THEN t.up_all
                WHEN fleet_availability_kind(s.state) = 'up'
                THEN date_part('epoch', s.period_end - s.period_start) ELSE 0 END AS up_all,
           CASE WHEN s.busy THEN t.down_all
                WHEN fleet_availability_kind(s.state) = 'down'
                THEN date_part('epoch', s.period_end - s.period_start) ELSE 0 END AS down_all,
           CASE WHEN s.busy THEN t.unknown_all
                WHEN fleet_availability_kind(s.state) = 'unknown'
                THEN date_part('epoch', s.period_end - s.period_start) ELSE 0 END AS unknown_all,
           CASE WHEN s.during IS NULL THEN 0
                ELSE fleet_multirange_seconds(t.up_ranges * s.during) END AS up_in_maintenance,
           CASE WHEN s.during IS NULL THEN 0
                ELSE fleet_multirange_seconds(t.down_ranges * s.during) END
               AS down_in_maintenance
    FROM starts s
    LEFT JOIN sums t ON t.board_id = s.board_id
), excluded AS (
    SELECT f.board_id, f.site_id, f.organisation_id, f.period, f.maintenance,
           f.up_all - CASE WHEN p_exclude_maintenance THEN f.up_in_maintenance ELSE 0 END
               AS up,
           f.down_all - CASE WHEN p_exclude_maintenance THEN f.down_in_maintenance ELSE 0 END
               AS down,
           f.unknown_all
               - CASE WHEN p_exclude_maintenance
                      THEN f.maintenance - f.up_in_maintenance - f.down_in_maintenance
                      ELSE 0 END AS unknown
    FROM figures f
)
SELECT e.board_id, e.site_id, e.organisation_id,
       (e.period - CASE WHEN p_exclude_maintenance THEN e.maintenance ELSE 0 END)::double precision,
       e.up::double precision,
       e.down::double precision,
       e.unknown::double precision,
       e.maintenance::double precision,
       (e.up / nullif(e.up + e.down, 0))::double precision
FROM excluded e
$$;
