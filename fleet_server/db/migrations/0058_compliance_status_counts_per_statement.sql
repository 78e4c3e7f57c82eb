-- compliance_status_counts (migration 0052) kept per statement, not per row
-- (issue 20).
--
-- 0052's row triggers added one board-day at a time: a statement writing
-- thousands of board-days (the compliance job's batches of 2,000, a bulk
-- load) updated the same few counts thousands of times in one transaction,
-- and each update stepped over every version of its row that transaction
-- had left: quadratic (a bulk insert of 600,000 board-days ran for more
-- than 17 minutes before it was stopped). Here a statement's inserted,
-- updated or deleted rows (its transition tables) are grouped first and
-- each count changes once, in key order, so two writers never wait on each
-- other in opposite orders.
--
-- The semantics are 0052's: a board-day counts for its board's site's
-- organisation now, a board-day of a board that does not exist is not
-- counted, a count that reaches zero is removed. 0052's board and site
-- move triggers stay (rare, per board). compliance_days is never a
-- hypertable (TimescaleDB refuses transition tables on those).
DROP TRIGGER compliance_days_counted ON compliance_days;
DROP TRIGGER compliance_days_recounted ON compliance_days;
DROP FUNCTION compliance_days_count();

-- Add every row's delta (+1 or -1 a board-day) to its count, grouped.
CREATE FUNCTION compliance_status_counts_add_rows(
    p_boards text[], p_days date[], p_statuses text[], p_overs boolean[], p_deltas integer[]
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO compliance_status_counts AS c
        (organisation_id, day, status, over_ceiling, board_days)
    SELECT s.organisation_id, r.day, r.status, r.over_ceiling, sum(r.delta)::integer
    FROM unnest(p_boards, p_days, p_statuses, p_overs, p_deltas)
         AS r(board_id, day, status, over_ceiling, delta)
    JOIN boards b ON b.id = r.board_id
    JOIN sites s ON s.id = b.site_id
    GROUP BY 1, 2, 3, 4
    HAVING sum(r.delta) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (organisation_id, day, status, over_ceiling)
    DO UPDATE SET board_days = c.board_days + EXCLUDED.board_days;
    DELETE FROM compliance_status_counts WHERE board_days = 0;
END $$;

-- The counts that reach zero, found without reading the others.
CREATE INDEX compliance_status_counts_zero ON compliance_status_counts (organisation_id)
    WHERE board_days = 0;

CREATE FUNCTION compliance_days_count_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Each branch names only the transition tables its event has (PL/pgSQL
    -- plans a statement the first time it runs it).
    IF TG_OP = 'INSERT' THEN
        PERFORM compliance_status_counts_add_rows(
            array_agg(n.board_id), array_agg(n.day), array_agg(n.status),
            array_agg(coalesce(n.advertising_share_percent > n.advertising_ceiling_percent,
                               false)),
            array_agg(1))
        FROM new_days n;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM compliance_status_counts_add_rows(
            array_agg(o.board_id), array_agg(o.day), array_agg(o.status),
            array_agg(coalesce(o.advertising_share_percent > o.advertising_ceiling_percent,
                               false)),
            array_agg(-1))
        FROM old_days o;
    ELSE
        PERFORM compliance_status_counts_add_rows(
            array_agg(r.board_id), array_agg(r.day), array_agg(r.status),
            array_agg(r.over_ceiling), array_agg(r.delta))
        FROM (SELECT n.board_id, n.day, n.status,
                     coalesce(n.advertising_share_percent > n.advertising_ceiling_percent,
                              false) AS over_ceiling,
                     1 AS delta
              FROM new_days n
              UNION ALL
              SELECT o.board_id, o.day, o.status,
                     coalesce(o.advertising_share_percent > o.advertising_ceiling_percent,
                              false),
                     -1
              FROM old_days o) r;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER compliance_days_counted_inserted
    AFTER INSERT ON compliance_days REFERENCING NEW TABLE AS new_days
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_days_count_statement();
CREATE TRIGGER compliance_days_counted_deleted
    AFTER DELETE ON compliance_days REFERENCING OLD TABLE AS old_days
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_days_count_statement();
CREATE TRIGGER compliance_days_counted_updated
    AFTER UPDATE ON compliance_days REFERENCING OLD TABLE AS old_days NEW TABLE AS new_days
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_days_count_statement();
