-- The fleet health version: a number that moves whenever something the
-- overview, GET /api/v1/sites/health or GET /api/v1/fleet/summary show may
-- have changed (a board's connectivity state, a board enabled, disabled or
-- moved, an incident opened, resolved or re-graded, a site or a team's sites
-- changed). The API processes read it once a request
-- (``SELECT last_value FROM fleet_health_version``) and render the map and
-- the site list again only when it moved (fleet_server/organisations/health_cache.py).
--
-- A sequence, not a counter row: nextval takes no row lock, so writers that
-- run side by side (engine, API) never wait on one another for it. Row
-- triggers are deferred to commit, with a WHEN clause, so the heartbeat
-- batches (UPDATE board_status SET last_seen_at) never fire them, and the
-- number moves once a transaction, just before its changes become visible.
-- A sequence is not transactional: a reader that reads the number between
-- the bump and the commit keeps what it read before the commit; the cache
-- bounds that by its maximum age (MAX_AGE_S, 10 s).

CREATE SEQUENCE fleet_health_version;

CREATE FUNCTION fleet_health_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- once a transaction: the local setting reverts at its end
    IF coalesce(current_setting('fleet.health_bumped', true), '') <> 'y' THEN
        PERFORM nextval('fleet_health_version');
        PERFORM set_config('fleet.health_bumped', 'y', true);
    END IF;
    RETURN NULL;
END
$$;

-- statement triggers fire before commit: always bump (no once-a-transaction
-- mark, so the deferred row triggers still bump again at commit)
CREATE FUNCTION fleet_health_bump_now() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM nextval('fleet_health_version');
    RETURN NULL;
END
$$;

-- board_status: a row added or removed, or its state changed.
CREATE CONSTRAINT TRIGGER board_status_health_added
    AFTER INSERT OR DELETE ON board_status
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fleet_health_bump();
CREATE CONSTRAINT TRIGGER board_status_health_changed
    AFTER UPDATE OF state ON board_status
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION fleet_health_bump();

-- boards: added, removed, enabled or disabled, moved to another site.
CREATE CONSTRAINT TRIGGER boards_health_added
    AFTER INSERT OR DELETE ON boards
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fleet_health_bump();
CREATE CONSTRAINT TRIGGER boards_health_changed
    AFTER UPDATE OF enabled, site_id ON boards
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.enabled, OLD.site_id) IS DISTINCT FROM (NEW.enabled, NEW.site_id))
    EXECUTE FUNCTION fleet_health_bump();

-- incidents: opened, deleted, or a change of what the site health counts
-- (open or not, severity, site, rule: the Border Guard's scope reads it).
CREATE CONSTRAINT TRIGGER incidents_health_added
    AFTER INSERT OR DELETE ON incidents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION fleet_health_bump();
CREATE CONSTRAINT TRIGGER incidents_health_changed
    AFTER UPDATE OF state, severity, site_id, rule, reported_by ON incidents
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.state, OLD.severity, OLD.site_id, OLD.rule, OLD.reported_by)
          IS DISTINCT FROM (NEW.state, NEW.severity, NEW.site_id, NEW.rule, NEW.reported_by))
    EXECUTE FUNCTION fleet_health_bump();

-- sites and the teams' sites (names, coordinates, organisation: any change;
-- both are rarely written).
CREATE TRIGGER sites_health
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON sites
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_health_bump_now();
CREATE TRIGGER site_teams_health
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON site_teams
    FOR EACH STATEMENT EXECUTE FUNCTION fleet_health_bump_now();

-- a bulk reset of the watched tables
CREATE TRIGGER board_status_health_truncated
    AFTER TRUNCATE ON board_status FOR EACH STATEMENT EXECUTE FUNCTION fleet_health_bump_now();
CREATE TRIGGER boards_health_truncated
    AFTER TRUNCATE ON boards FOR EACH STATEMENT EXECUTE FUNCTION fleet_health_bump_now();
CREATE TRIGGER incidents_health_truncated
    AFTER TRUNCATE ON incidents FOR EACH STATEMENT EXECUTE FUNCTION fleet_health_bump_now();
