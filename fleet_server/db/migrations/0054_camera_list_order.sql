-- The cameras list in its default order (failing cameras first, then
-- unknown, then ok, each by site name) read one health group at a time
-- (issue 20, cameras/storage_groups.py) instead of sorting every camera in
-- scope on each page (70-80 ms at 13,344 cameras).
--
-- A large group is walked in site-name order, sites by name, then their
-- boards and cameras, until the page is full: this index gives that order.
CREATE INDEX sites_name_idx ON sites (name);
-- A small group is found by its own index and sorted: the failing cameras
-- by camera_health_failing_idx (0051); the ok ones (none, when every
-- reading is older than the staleness limit) and the stale ones by the time
-- their reading was observed. An update of camera_health already changes
-- observed_at (no HOT update), so this adds one index entry a camera row.
CREATE INDEX camera_health_observed_idx ON camera_health (observed_at);

-- How many cameras each site has (those of its boards), so the list's total
-- is a sum over the sites in scope, not a count of every camera in scope
-- (an operator's 6,688 cameras joined through 3,344 boards). Kept by
-- statement triggers on cameras and boards, which change when people
-- provision them, never on ingest: each recounts the sites a statement
-- touched. A site without cameras has no row.
CREATE TABLE site_camera_counts (
    site_id bigint PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    cameras integer NOT NULL CHECK (cameras > 0)
);

CREATE FUNCTION site_camera_counts_recount(touched bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- one writer a site at a time, each counting after the one before it
    -- committed (a statement's own snapshot): counts made side by side would
    -- each miss the other's cameras
    PERFORM 1 FROM sites WHERE id = ANY(touched) ORDER BY id FOR NO KEY UPDATE;
    DELETE FROM site_camera_counts k
     WHERE k.site_id = ANY(touched)
       AND NOT EXISTS (SELECT 1 FROM boards b JOIN cameras c ON c.board_id = b.id
                        WHERE b.site_id = k.site_id);
    INSERT INTO site_camera_counts AS k (site_id, cameras)
    SELECT b.site_id, count(*) FROM boards b JOIN cameras c ON c.board_id = b.id
     WHERE b.site_id = ANY(touched)
     GROUP BY b.site_id
    ON CONFLICT (site_id) DO UPDATE SET cameras = EXCLUDED.cameras
     WHERE k.cameras <> EXCLUDED.cameras;
END $$;

-- cameras added, removed or moved (``changed``: the rows before or after);
-- a board deleted with its cameras is recounted by the boards trigger, as
-- its site can no longer be found from here
CREATE FUNCTION site_camera_counts_cameras() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM site_camera_counts_recount(ARRAY(
            SELECT DISTINCT b.site_id FROM fresh n JOIN boards b ON b.id = n.board_id));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM site_camera_counts_recount(ARRAY(
            SELECT DISTINCT b.site_id FROM gone o JOIN boards b ON b.id = o.board_id));
    ELSE
        PERFORM site_camera_counts_recount(ARRAY(
            SELECT DISTINCT b.site_id FROM boards b
             WHERE b.id IN (SELECT board_id FROM fresh UNION SELECT board_id FROM gone)));
    END IF;
    RETURN NULL;
END $$;

-- boards removed or moved to another site: their old and new sites
CREATE FUNCTION site_camera_counts_boards() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM site_camera_counts_recount(ARRAY(SELECT DISTINCT site_id FROM gone));
    ELSE
        PERFORM site_camera_counts_recount(ARRAY(
            SELECT o.site_id FROM gone o JOIN fresh n ON n.id = o.id
             WHERE n.site_id IS DISTINCT FROM o.site_id
            UNION SELECT n.site_id FROM gone o JOIN fresh n ON n.id = o.id
             WHERE n.site_id IS DISTINCT FROM o.site_id));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION site_camera_counts_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM site_camera_counts;
    PERFORM site_camera_counts_recount(ARRAY(SELECT id FROM sites));
    RETURN NULL;
END $$;

CREATE TRIGGER site_camera_counts_insert AFTER INSERT ON cameras
    REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT
    EXECUTE FUNCTION site_camera_counts_cameras();
CREATE TRIGGER site_camera_counts_delete AFTER DELETE ON cameras
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION site_camera_counts_cameras();
CREATE TRIGGER site_camera_counts_update AFTER UPDATE ON cameras
    REFERENCING OLD TABLE AS gone NEW TABLE AS fresh FOR EACH STATEMENT
    EXECUTE FUNCTION site_camera_counts_cameras();
CREATE TRIGGER site_camera_counts_truncate AFTER TRUNCATE ON cameras
    FOR EACH STATEMENT EXECUTE FUNCTION site_camera_counts_all();
CREATE TRIGGER site_camera_counts_board_delete AFTER DELETE ON boards
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT
    EXECUTE FUNCTION site_camera_counts_boards();
CREATE TRIGGER site_camera_counts_board_update AFTER UPDATE ON boards
    REFERENCING OLD TABLE AS gone NEW TABLE AS fresh FOR EACH STATEMENT
    EXECUTE FUNCTION site_camera_counts_boards();
CREATE TRIGGER site_camera_counts_board_truncate AFTER TRUNCATE ON boards
    FOR EACH STATEMENT EXECUTE FUNCTION site_camera_counts_all();

INSERT INTO site_camera_counts (site_id, cameras)
SELECT b.site_id, count(*) FROM boards b JOIN cameras c ON c.board_id = b.id GROUP BY b.site_id;
ANALYZE site_camera_counts;

-- Cameras without a reading (no camera_health row), kept beside it: with
-- the stale readings (camera_health_observed_idx) they are the unknown
-- cameras, and a fleet that reports (a few unknown cameras) found them by
-- an anti-join of every camera with every camera_health row (13,344 of
-- each) on each page. Rows come and go with camera_health's rows, which
-- ingest inserts or deletes only when a camera appears in or leaves its
-- board's reading (row triggers: nothing fires for the updates of every
-- reading), and with cameras. Writers of one board's gaps take turns (an
-- advisory lock until commit), so none decides from what another has not
-- committed yet. A gap whose camera has a reading after all is not listed
-- (the list also asks camera_health).
CREATE TABLE camera_gaps (
    board_id  text NOT NULL,
    camera_id text NOT NULL,
    PRIMARY KEY (board_id, camera_id)
);

CREATE FUNCTION camera_gaps_lock(boards text[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('camera_gaps'), hashtext(b))
       FROM (SELECT DISTINCT b FROM unnest(boards) b ORDER BY 1) x;
END $$;

-- camera_health gained a row: that camera has a reading
CREATE FUNCTION camera_gaps_read() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM camera_gaps_lock(ARRAY[NEW.board_id]);
    DELETE FROM camera_gaps WHERE board_id = NEW.board_id AND camera_id = NEW.camera_id;
    RETURN NULL;
END $$;

-- camera_health lost a row: that camera, if it is one, has none
CREATE FUNCTION camera_gaps_unread() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM camera_gaps_lock(ARRAY[OLD.board_id]);
    INSERT INTO camera_gaps (board_id, camera_id)
    SELECT c.board_id, c.camera_id FROM cameras c
     WHERE c.board_id = OLD.board_id AND c.camera_id = OLD.camera_id
       AND NOT EXISTS (SELECT 1 FROM camera_health h
                        WHERE h.board_id = c.board_id AND h.camera_id = c.camera_id)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

-- cameras added, removed or changed (``fresh``, ``gone``: after, before)
CREATE FUNCTION camera_gaps_cameras() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        PERFORM camera_gaps_lock(ARRAY(SELECT board_id FROM gone));
        DELETE FROM camera_gaps g USING gone o
         WHERE g.board_id = o.board_id AND g.camera_id = o.camera_id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM camera_gaps_lock(ARRAY(SELECT board_id FROM fresh));
        INSERT INTO camera_gaps (board_id, camera_id)
        SELECT n.board_id, n.camera_id FROM fresh n
         WHERE NOT EXISTS (SELECT 1 FROM camera_health h
                            WHERE h.board_id = n.board_id AND h.camera_id = n.camera_id)
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION camera_gaps_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM camera_gaps;
    INSERT INTO camera_gaps (board_id, camera_id)
    SELECT c.board_id, c.camera_id FROM cameras c
     WHERE NOT EXISTS (SELECT 1 FROM camera_health h
                        WHERE h.board_id = c.board_id AND h.camera_id = c.camera_id);
    RETURN NULL;
END $$;

CREATE TRIGGER camera_gaps_read AFTER INSERT ON camera_health
    FOR EACH ROW EXECUTE FUNCTION camera_gaps_read();
CREATE TRIGGER camera_gaps_unread AFTER DELETE ON camera_health
    FOR EACH ROW EXECUTE FUNCTION camera_gaps_unread();
CREATE TRIGGER camera_gaps_truncate AFTER TRUNCATE ON camera_health
    FOR EACH STATEMENT EXECUTE FUNCTION camera_gaps_all();
CREATE TRIGGER camera_gaps_insert AFTER INSERT ON cameras
    REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION camera_gaps_cameras();
CREATE TRIGGER camera_gaps_delete AFTER DELETE ON cameras
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION camera_gaps_cameras();
CREATE TRIGGER camera_gaps_update AFTER UPDATE ON cameras
    REFERENCING OLD TABLE AS gone NEW TABLE AS fresh FOR EACH STATEMENT
    EXECUTE FUNCTION camera_gaps_cameras();
CREATE TRIGGER camera_gaps_cameras_truncate AFTER TRUNCATE ON cameras
    FOR EACH STATEMENT EXECUTE FUNCTION camera_gaps_all();

INSERT INTO camera_gaps (board_id, camera_id)
SELECT c.board_id, c.camera_id FROM cameras c
 WHERE NOT EXISTS (SELECT 1 FROM camera_health h
                    WHERE h.board_id = c.board_id AND h.camera_id = c.camera_id);
ANALYZE camera_gaps;
