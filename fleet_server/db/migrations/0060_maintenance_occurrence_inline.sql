-- The maintenance windows' occurrence, cheaper (issue 20).
--
-- maintenance_occurrence_end (0011) held a sub-select, so PostgreSQL could
-- not inline it: every call ran the SQL-function executor (about 5 µs on
-- the benchmark's machine). The console's /maintenance calls it on every
-- window in scope, twice a query and three queries a page. The same rule
-- as one expression, which the planner inlines into the query (about
-- 0.4 µs a call); it gives the same result for every window and time:
-- the end of the occurrence covering `at`, NULL when none does (GREATEST
-- then NULLIF: an end at or before `at` is no occurrence in progress).
CREATE OR REPLACE FUNCTION maintenance_occurrence_end(
    starts timestamptz, ends timestamptz, recurrence text, at timestamptz
) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN at < starts THEN NULL
        WHEN recurrence = 'none' THEN CASE WHEN at < ends THEN ends END
        ELSE nullif(greatest(
            ends + make_interval(secs => floor(extract(epoch FROM at - starts)
                                               / CASE recurrence WHEN 'daily' THEN 86400
                                                                 ELSE 604800 END)
                                         * CASE recurrence WHEN 'daily' THEN 86400
                                                           ELSE 604800 END),
            at), at)
    END
$$;
