-- Closed days of availability computed once and kept (docs/availability.md;
-- fleet_server/availability/days.py), as monitoring products keep trends:
-- a month's figures are the sum of its closed local days read from here plus
-- the open part (today, and any edge of the period not on a local midnight)
-- computed live by fleet_board_availability (migration 0016).
--
-- Every stored figure IS fleet_board_availability over one local day
-- (Asia/Ho_Chi_Minh midnight to midnight), called twice, with and without
-- p_exclude_maintenance: the definition stays in 0016 only. All its figures
-- are seconds of a set of instants (up, down, unknown, in maintenance) inside
-- the board's period, so a period's seconds are the sums of its days'. A
-- board has a row for a day only when its period meets that day, as the
-- function returns a board only then.
--
-- Days [first_day, through) are stored, for every board. The engine's job
-- closes a day 15 minutes after its local midnight (through + 1) and fills
-- older days (first_day - 1) down to the oldest board's start, one day a run.
-- A write that changes a stored day recomputes it in the same transaction:
-- status history rows (late data) from their day on, maintenance windows
-- (added, changed or removed afterwards) over the days they touch (recurring
-- ones: from their first day on), a board's site, installation, creation or
-- disabling over all its days. The job and these triggers serialise on the
-- state row (FOR UPDATE / FOR KEY SHARE), so a day closed while a late row is
-- written is recomputed after it.

CREATE TABLE board_availability_days (
    board_id        text NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    day             date NOT NULL,
    -- maintenance counted in (p_exclude_maintenance false)
    expected_s      double precision NOT NULL,
    up_s            double precision NOT NULL,
    down_s          double precision NOT NULL,
    unknown_s       double precision NOT NULL,
    -- maintenance taken out (p_exclude_maintenance true)
    expected_x_s    double precision NOT NULL,
    up_x_s          double precision NOT NULL,
    down_x_s        double precision NOT NULL,
    unknown_x_s     double precision NOT NULL,
    maintenance_s   double precision NOT NULL,
    PRIMARY KEY (board_id, day)
);
CREATE INDEX board_availability_days_day_idx ON board_availability_days (day, board_id);

-- One row: the stored days are [first_day, through); NULL: none yet.
CREATE TABLE board_availability_state (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    first_day  date,
    through    date,
    CHECK ((first_day IS NULL) = (through IS NULL) AND (first_day IS NULL OR first_day <= through))
);
INSERT INTO board_availability_state DEFAULT VALUES;

-- The figures of local days [p_from, p_to) of the boards of p_site_ids
-- (NULL: every site), exactly as fleet_board_availability computes each day.
CREATE FUNCTION fleet_availability_day_figures(p_from date, p_to date, p_site_ids bigint[])
RETURNS SETOF board_availability_days
LANGUAGE sql STABLE AS $$
    WITH days AS (
        SELECT d::date AS day,
               d::date::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS starts,
               (d::date + 1)::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh' AS ends
        FROM generate_series(p_from, p_to - 1, interval '1 day') AS d
    ), kept AS (
        SELECT d.day, a.* FROM days d
        CROSS JOIN LATERAL fleet_board_availability(d.starts, d.ends, false, p_site_ids) a
    ), excluded AS (
        SELECT d.day, a.* FROM days d
        CROSS JOIN LATERAL fleet_board_availability(d.starts, d.ends, true, p_site_ids) a
    )
    SELECT k.board_id, k.day, k.expected_s, k.up_s, k.down_s, k.unknown_s,
           x.expected_s, x.up_s, x.down_s, x.unknown_s, x.maintenance_s
    FROM kept k JOIN excluded x ON x.day = k.day AND x.board_id = k.board_id
$$;

-- Recomputes the stored days among [p_from, p_to) of these boards (NULL:
-- every board). Waits for a running fill (the state row), so a day being
-- closed meanwhile is recomputed once it is. Returns the rows written.
CREATE FUNCTION fleet_availability_refill(p_board_ids text[], p_from date, p_to date)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_first date;
    v_through date;
    v_from date;
    v_to date;
    v_sites bigint[];
    v_rows integer;
BEGIN
    SELECT first_day, through INTO v_first, v_through
    FROM board_availability_state FOR KEY SHARE;
    v_from := greatest(p_from, v_first);
    v_to := least(p_to, v_through);
    IF v_first IS NULL OR v_from IS NULL OR v_to IS NULL OR v_from >= v_to THEN
        RETURN 0;
    END IF;
    IF p_board_ids IS NOT NULL THEN
        SELECT coalesce(array_agg(DISTINCT site_id), '{}') INTO v_sites
        FROM boards WHERE id = ANY (p_board_ids);
    END IF;
    DELETE FROM board_availability_days
    WHERE day >= v_from AND day < v_to
      AND (p_board_ids IS NULL OR board_id = ANY (p_board_ids));
    INSERT INTO board_availability_days
    SELECT f.* FROM fleet_availability_day_figures(v_from, v_to, v_sites) f
    WHERE p_board_ids IS NULL OR f.board_id = ANY (p_board_ids);
    GET DIAGNOSTICS v_rows = ROW_COUNT;
    RETURN v_rows;
END
$$;

-- The local day of an instant.
CREATE FUNCTION fleet_local_day(p_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (p_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date
$$;

-- Status history: a row holds until the board's next one, so it changes its
-- day and every later stored day (bounded by through). Rows of today (the
-- usual case) touch no stored day: nothing is locked or read for them.
CREATE FUNCTION fleet_availability_history_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_today date := fleet_local_day(now());
BEGIN
    FOR r IN
        SELECT c.board_id, min(fleet_local_day(c.at)) AS day
        FROM changed c WHERE fleet_local_day(c.at) < v_today
        GROUP BY c.board_id
    LOOP
        PERFORM fleet_availability_refill(ARRAY[r.board_id], r.day, 'infinity');
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER board_status_history_availability_insert
    AFTER INSERT ON board_status_history REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_availability_history_changed();
CREATE TRIGGER board_status_history_availability_delete
    AFTER DELETE ON board_status_history REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_availability_history_changed();
-- an update: the days of the old rows and of the new ones
CREATE TRIGGER board_status_history_availability_update_old
    AFTER UPDATE ON board_status_history REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_availability_history_changed();
CREATE TRIGGER board_status_history_availability_update_new
    AFTER UPDATE ON board_status_history REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_availability_history_changed();

-- Maintenance windows: the boards of the window (its board, or its site's
-- boards), over the days of its occurrence, or from its first day on when it
-- recurs.
CREATE FUNCTION fleet_availability_window_refill(w maintenance_windows) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_boards text[];
BEGIN
    IF w.board_id IS NOT NULL THEN
        v_boards := ARRAY[w.board_id];
    ELSE
        SELECT coalesce(array_agg(id), '{}') INTO v_boards FROM boards WHERE site_id = w.site_id;
    END IF;
    PERFORM fleet_availability_refill(
        v_boards,
        fleet_local_day(w.starts_at),
        CASE WHEN w.recurrence = 'none'
             THEN fleet_local_day(w.ends_at - interval '1 microsecond') + 1
             ELSE 'infinity' END);
END
$$;

CREATE FUNCTION fleet_availability_window_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM fleet_availability_window_refill(OLD);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        PERFORM fleet_availability_window_refill(NEW);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER maintenance_windows_availability
    AFTER INSERT OR UPDATE OR DELETE ON maintenance_windows
    FOR EACH ROW EXECUTE FUNCTION fleet_availability_window_changed();

-- Boards: a new board (installed in the past) or a change of what its
-- period and its site's windows depend on recomputes all its stored days.
CREATE FUNCTION fleet_availability_board_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM fleet_availability_refill(ARRAY[NEW.id], '-infinity', 'infinity');
    RETURN NULL;
END
$$;

CREATE TRIGGER boards_availability_insert
    AFTER INSERT ON boards
    FOR EACH ROW EXECUTE FUNCTION fleet_availability_board_changed();
CREATE TRIGGER boards_availability_update
    AFTER UPDATE OF site_id, installed_on, created_at, enabled, disabled_at ON boards
    FOR EACH ROW
    WHEN (OLD.site_id IS DISTINCT FROM NEW.site_id
          OR OLD.installed_on IS DISTINCT FROM NEW.installed_on
          OR OLD.created_at IS DISTINCT FROM NEW.created_at
          OR OLD.enabled IS DISTINCT FROM NEW.enabled
          OR OLD.disabled_at IS DISTINCT FROM NEW.disabled_at)
    EXECUTE FUNCTION fleet_availability_board_changed();
