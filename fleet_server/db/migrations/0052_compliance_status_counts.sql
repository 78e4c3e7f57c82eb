-- Judged board-days counted per (organisation, day, status, over the
-- advertising ceiling or not), kept by triggers (issue 20).
--
-- The reports page of an organisation's reader (GET /reports, operators,
-- technicians, viewers) counts the last 30 days' board-days by status and
-- those over their advertising ceiling (compliance/storage_reads.py
-- status_counts, advertising_over): a month of the organisation's ~100,000
-- board-days, each joined to its board and site, cost ~780 ms a page at
-- 10,000 boards. Read from here it is ~30 days x 6 statuses x 2 rows.
--
-- The board-day's organisation is that of its board's site now, as the
-- joined queries had it: moving a board to another site, a site to another
-- organisation, or deleting a board moves its days' counts. Board-days of
-- a board that does not exist are not counted (the join dropped them).
CREATE TABLE compliance_status_counts (
    organisation_id bigint NOT NULL,
    day             date NOT NULL,
    status          text NOT NULL,
    over_ceiling    boolean NOT NULL,
    board_days      integer NOT NULL,
    PRIMARY KEY (organisation_id, day, status, over_ceiling)
);

-- Add ``delta`` board-days to one count; a count that reaches zero is
-- removed, so the table holds only what exists.
CREATE FUNCTION compliance_status_count_add(
    org bigint, d date, st text, over boolean, delta integer
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF org IS NULL OR delta = 0 THEN
        RETURN;
    END IF;
    INSERT INTO compliance_status_counts AS c (organisation_id, day, status, over_ceiling, board_days)
    VALUES (org, d, st, over, delta)
    ON CONFLICT (organisation_id, day, status, over_ceiling)
    DO UPDATE SET board_days = c.board_days + EXCLUDED.board_days;
    DELETE FROM compliance_status_counts
    WHERE organisation_id = org AND day = d AND status = st AND over_ceiling = over
      AND board_days = 0;
END $$;

CREATE FUNCTION compliance_board_organisation(board text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id WHERE b.id = board
$$;

CREATE FUNCTION compliance_days_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM compliance_status_count_add(
            compliance_board_organisation(OLD.board_id), OLD.day, OLD.status,
            coalesce(OLD.advertising_share_percent > OLD.advertising_ceiling_percent, false), -1);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM compliance_status_count_add(
            compliance_board_organisation(NEW.board_id), NEW.day, NEW.status,
            coalesce(NEW.advertising_share_percent > NEW.advertising_ceiling_percent, false), 1);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER compliance_days_counted
    AFTER INSERT OR DELETE ON compliance_days
    FOR EACH ROW EXECUTE FUNCTION compliance_days_count();
CREATE TRIGGER compliance_days_recounted
    AFTER UPDATE OF board_id, day, status, advertising_share_percent, advertising_ceiling_percent
    ON compliance_days FOR EACH ROW
    WHEN (OLD.board_id IS DISTINCT FROM NEW.board_id OR OLD.day IS DISTINCT FROM NEW.day
          OR OLD.status IS DISTINCT FROM NEW.status
          OR (OLD.advertising_share_percent > OLD.advertising_ceiling_percent)
             IS DISTINCT FROM (NEW.advertising_share_percent > NEW.advertising_ceiling_percent))
    EXECUTE FUNCTION compliance_days_count();

CREATE FUNCTION compliance_days_count_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM compliance_status_counts;
    RETURN NULL;
END $$;

CREATE TRIGGER compliance_days_truncated
    AFTER TRUNCATE ON compliance_days
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_days_count_truncated();

-- Move the days of ``board`` from organisation ``from_org`` to ``to_org``
-- (either NULL: the board appears or disappears).
CREATE FUNCTION compliance_status_counts_move(board text, from_org bigint, to_org bigint)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    IF from_org IS NOT DISTINCT FROM to_org THEN
        RETURN;
    END IF;
    FOR r IN
        SELECT day, status,
               coalesce(advertising_share_percent > advertising_ceiling_percent, false) AS over,
               count(*)::integer AS n
        FROM compliance_days WHERE board_id = board
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    LOOP
        PERFORM compliance_status_count_add(from_org, r.day, r.status, r.over, -r.n);
        PERFORM compliance_status_count_add(to_org, r.day, r.status, r.over, r.n);
    END LOOP;
END $$;

CREATE FUNCTION compliance_boards_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM compliance_status_counts_move(
            NEW.id, NULL, (SELECT organisation_id FROM sites WHERE id = NEW.site_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM compliance_status_counts_move(
            OLD.id, (SELECT organisation_id FROM sites WHERE id = OLD.site_id), NULL);
    ELSE
        PERFORM compliance_status_counts_move(
            OLD.id, (SELECT organisation_id FROM sites WHERE id = OLD.site_id), NULL);
        PERFORM compliance_status_counts_move(
            NEW.id, NULL, (SELECT organisation_id FROM sites WHERE id = NEW.site_id));
    END IF;
    RETURN NULL;
END $$;

-- A new board has no judged days unless days were stored under its id
-- before it existed; the insert trigger counts those.
CREATE TRIGGER boards_compliance_counted
    AFTER INSERT OR DELETE ON boards
    FOR EACH ROW EXECUTE FUNCTION compliance_boards_count_moved();
CREATE TRIGGER boards_compliance_recounted
    AFTER UPDATE OF id, site_id ON boards FOR EACH ROW
    WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.site_id IS DISTINCT FROM NEW.site_id)
    EXECUTE FUNCTION compliance_boards_count_moved();

CREATE FUNCTION compliance_sites_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    b record;
BEGIN
    FOR b IN SELECT id FROM boards WHERE site_id = NEW.id ORDER BY id LOOP
        PERFORM compliance_status_counts_move(b.id, OLD.organisation_id, NEW.organisation_id);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER sites_compliance_recounted
    AFTER UPDATE OF organisation_id ON sites FOR EACH ROW
    WHEN (OLD.organisation_id IS DISTINCT FROM NEW.organisation_id)
    EXECUTE FUNCTION compliance_sites_count_moved();

INSERT INTO compliance_status_counts (organisation_id, day, status, over_ceiling, board_days)
SELECT s.organisation_id, c.day, c.status,
       coalesce(c.advertising_share_percent > c.advertising_ceiling_percent, false),
       count(*)
FROM compliance_days c
JOIN boards b ON b.id = c.board_id
JOIN sites s ON s.id = b.site_id
GROUP BY 1, 2, 3, 4;
