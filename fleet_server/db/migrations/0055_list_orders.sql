-- Index-backed orders and counts for three lists (issue 20).
--
-- 1. GET /api/v1/incidents?sort=site_name read one index range instead of
--    sorting every row the caller sees. The name lives in sites, reached by
--    a join, so no index on incidents could give that order: each page (the
--    first or the two-hundredth) sorted all 206,000 incidents of the bench
--    (~400 ms for the admin, ~200 ms for an operator). Each incident now
--    carries a copy of its site's name, kept by triggers: set when an
--    incident is added or moved to another site (or the copy written by
--    hand), rewritten on the site's incidents when a site is renamed (rare;
--    about 80 incidents a site at the bench). The list reads the copy, so
--    what it shows and the order it pages in are the same text.

ALTER TABLE incidents ADD COLUMN site_name text;

UPDATE incidents i SET site_name = s.name FROM sites s WHERE s.id = i.site_id;

-- either direction, incidents without a site last (as board_id's in 0044)
CREATE INDEX incidents_site_name_id_idx ON incidents (site_name, id);
CREATE INDEX incidents_site_name_desc_id_idx ON incidents (site_name DESC NULLS LAST, id DESC);

CREATE FUNCTION incidents_site_name() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.site_name := (SELECT name FROM sites WHERE id = NEW.site_id);
    RETURN NEW;
END
$$;

CREATE TRIGGER incidents_site_name_set
    BEFORE INSERT OR UPDATE OF site_id, site_name ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_site_name();

CREATE FUNCTION sites_incident_names() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE incidents SET site_name = NEW.name WHERE site_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER sites_incident_names
    AFTER UPDATE OF name ON sites
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION sites_incident_names();

-- 2. The console's incident queue (open and acknowledged, worst then newest:
--    the default of /incidents, its live fragment and the API) read 51 of
--    the 1,470 unresolved incidents by walking the whole history's index in
--    that order, skipping ~13,000 resolved ones (9,000 buffers, 22 ms). The
--    unresolved ones alone, in that order: incidents/storage_lists.py names
--    "state <> 'resolved'" whenever only unresolved states are asked for, so
--    every plan (generic ones included) can use it.
CREATE INDEX incidents_unresolved_severity_idx ON incidents (
    (CASE severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2 WHEN 'minor' THEN 1 ELSE 0 END),
    opened_at,
    id
) WHERE state <> 'resolved';

-- 3. The console's provisioning list (/admin/boards): newest provisioned
--    first, then by id, paged by cursor (provisioning/storage_list.py), and
--    its boards per status kept per fleet health version (0045) instead of
--    counted over every board on each page. A board's status also moves when
--    it is provisioned or given new credentials: those bump the version too.
CREATE INDEX boards_provisioned_id_idx ON boards (provisioned_at DESC NULLS LAST, id DESC);

CREATE CONSTRAINT TRIGGER boards_health_credentials
    AFTER UPDATE OF provisioned_at, credentials_rotated_at ON boards
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN ((OLD.provisioned_at, OLD.credentials_rotated_at)
          IS DISTINCT FROM (NEW.provisioned_at, NEW.credentials_rotated_at))
    EXECUTE FUNCTION fleet_health_bump();
