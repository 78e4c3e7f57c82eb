-- Availability of boards, sites and organisations over a period, computed
-- here and only here: the reports, the API and the Grafana dashboards all
-- call these functions (docs/availability.md).
--
-- A board's period runs from max(p_from, its installation day at local
-- midnight, else its row's creation) to min(p_to, now(), the time it was
-- disabled if it is disabled now). Its state at any instant is the latest
-- board_status_history row at or before that instant ('unknown' before the
-- first one): online is up; offline, lost and stale are down; anything else
-- is unknown. With p_exclude_maintenance, time inside a maintenance window of
-- the board or of its site is taken out of expected, up, down and unknown
-- (and reported as maintenance_s either way). Availability is
-- up / (up + down), NULL when neither is known. Sites and organisations sum
-- the seconds of their boards; they never average percentages.
--
-- p_site_ids narrows the boards to those sites (NULL: every site; an empty
-- array: none), so a caller scoped to a few sites does not pay for the whole
-- fleet. Works the same on plain PostgreSQL (>= 14: multiranges) and
-- TimescaleDB: board_status_history is an ordinary table in both.

-- Seconds covered by a multirange (0 for NULL or empty). Exact (numeric).
CREATE FUNCTION fleet_multirange_seconds(r tstzmultirange) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(sum(extract(epoch FROM upper(x) - lower(x))), 0) FROM unnest(r) AS x
$$;

-- Occurrences of maintenance windows that overlap [p_from, p_to). Daily and
-- weekly windows repeat their first occurrence every 86,400 / 604,800
-- seconds, exactly as maintenance_occurrence_end (0011) and the engine read
-- them; a window never repeats before its first occurrence.
CREATE FUNCTION fleet_maintenance_occurrences(p_from timestamptz, p_to timestamptz)
RETURNS TABLE (window_id bigint, site_id bigint, board_id text, during tstzrange)
LANGUAGE sql STABLE AS $$
    SELECT w.id, w.site_id, w.board_id, tstzrange(w.starts_at, w.ends_at)
    FROM maintenance_windows w
    WHERE w.recurrence = 'none' AND w.starts_at < p_to AND w.ends_at > p_from
    UNION ALL
    SELECT w.id, w.site_id, w.board_id,
           tstzrange(w.starts_at + make_interval(secs => k * p.period),
                     w.ends_at + make_interval(secs => k * p.period))
    FROM maintenance_windows w
    CROSS JOIN LATERAL (
        SELECT CASE w.recurrence WHEN 'daily' THEN 86400 ELSE 604800 END AS period) p
    -- occurrence k is [starts + kP, ends + kP): the first one ending after
    -- p_from to the last one starting before p_to
    CROSS JOIN LATERAL generate_series(
        greatest(0, floor(extract(epoch FROM p_from - w.ends_at) / p.period)::bigint + 1),
        ceil(extract(epoch FROM p_to - w.starts_at) / p.period)::bigint - 1) AS k
    WHERE w.recurrence IN ('daily', 'weekly') AND w.starts_at < p_to
$$;

CREATE FUNCTION fleet_board_availability(
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
           -- least() skips NULLs: an enabled board runs to p_to (or now)
           least(p_to, now(),
                 CASE WHEN NOT b.enabled THEN coalesce(b.disabled_at, '-infinity') END)
               AS period_end
    FROM boards b JOIN sites s ON s.id = b.site_id
    WHERE p_from IS NOT NULL AND p_to IS NOT NULL
      AND (p_site_ids IS NULL OR b.site_id = ANY (p_site_ids))
), live AS (
    SELECT * FROM periods WHERE period_start < period_end
), maintenance AS (
    -- windows of the board and of its site, merged (overlaps count once) and
    -- cut to the board's period; two equi-joins, not one join on an OR
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
), figures AS (
    SELECT l.board_id, l.site_id, l.organisation_id,
           extract(epoch FROM l.period_end - l.period_start) AS period,
           coalesce(fleet_multirange_seconds(m.during), 0) AS maintenance,
           t.*
    FROM live l
    LEFT JOIN maintenance m ON m.board_id = l.board_id
    -- One board at a time: its changes come ordered from the (board_id, at)
    -- index and are sorted in memory, never the whole history at once.
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(g.seconds) FILTER (WHERE g.kind = 'up'), 0) AS up_all,
               coalesce(sum(g.seconds) FILTER (WHERE g.kind = 'down'), 0) AS down_all,
               coalesce(sum(g.seconds) FILTER (WHERE g.kind = 'unknown'), 0) AS unknown_all,
               -- up and down time inside maintenance (boards without any skip this)
               fleet_multirange_seconds(
                   range_agg(tstzrange(g.starts, g.ends))
                       FILTER (WHERE g.kind = 'up' AND m.during IS NOT NULL)
                   * m.during) AS up_in_maintenance,
               fleet_multirange_seconds(
                   range_agg(tstzrange(g.starts, g.ends))
                       FILTER (WHERE g.kind = 'down' AND m.during IS NOT NULL)
                   * m.during) AS down_in_maintenance
        FROM (
            -- each change holds until the next one, the last until the period ends
            SELECT CASE WHEN c.state = 'online' THEN 'up'
                        WHEN c.state IN ('offline', 'lost', 'stale') THEN 'down'
                        ELSE 'unknown' END AS kind,
                   c.at AS starts,
                   coalesce(lead(c.at) OVER w, l.period_end) AS ends,
                   date_part('epoch', coalesce(lead(c.at) OVER w, l.period_end) - c.at)
                       AS seconds
            FROM (
                -- the state in force when the period starts (unknown before
                -- the first change): a synthetic change there
                SELECT l.period_start AS at, 0::bigint AS id,
                       coalesce((SELECT h.state FROM board_status_history h
                                  WHERE h.board_id = l.board_id AND h.at <= l.period_start
                                  ORDER BY h.at DESC, h.id DESC LIMIT 1), 'unknown') AS state
                UNION ALL
                SELECT h.at, h.id, h.state FROM board_status_history h
                WHERE h.board_id = l.board_id AND h.at > l.period_start AND h.at < l.period_end
            ) c
            WINDOW w AS (ORDER BY c.at, c.id)
        ) g
    ) t
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

CREATE FUNCTION fleet_site_availability(
    p_from timestamptz,
    p_to timestamptz,
    p_exclude_maintenance boolean DEFAULT true,
    p_site_ids bigint[] DEFAULT NULL
) RETURNS TABLE (
    site_id bigint,
    organisation_id bigint,
    boards integer,
    expected_s double precision,
    up_s double precision,
    down_s double precision,
    unknown_s double precision,
    maintenance_s double precision,
    availability double precision
) LANGUAGE sql STABLE AS $$
    SELECT a.site_id, a.organisation_id, count(*)::integer,
           sum(a.expected_s), sum(a.up_s), sum(a.down_s), sum(a.unknown_s), sum(a.maintenance_s),
           sum(a.up_s) / nullif(sum(a.up_s) + sum(a.down_s), 0)
    FROM fleet_board_availability(p_from, p_to, p_exclude_maintenance, p_site_ids) a
    GROUP BY a.site_id, a.organisation_id
$$;

CREATE FUNCTION fleet_organisation_availability(
    p_from timestamptz,
    p_to timestamptz,
    p_exclude_maintenance boolean DEFAULT true,
    p_site_ids bigint[] DEFAULT NULL
) RETURNS TABLE (
    organisation_id bigint,
    sites integer,
    boards integer,
    expected_s double precision,
    up_s double precision,
    down_s double precision,
    unknown_s double precision,
    maintenance_s double precision,
    availability double precision
) LANGUAGE sql STABLE AS $$
    SELECT a.organisation_id, count(DISTINCT a.site_id)::integer, count(*)::integer,
           sum(a.expected_s), sum(a.up_s), sum(a.down_s), sum(a.unknown_s), sum(a.maintenance_s),
           sum(a.up_s) / nullif(sum(a.up_s) + sum(a.down_s), 0)
    FROM fleet_board_availability(p_from, p_to, p_exclude_maintenance, p_site_ids) a
    GROUP BY a.organisation_id
$$;
