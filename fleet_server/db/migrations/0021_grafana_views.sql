-- What Grafana may read (docs/dashboards.md "What Grafana reads"): the schema
-- `grafana`, views made for the dashboards, each scoped to the organisation
-- of the database role that reads it. Grafana's reader roles get SELECT on
-- these views and EXECUTE on these functions, and nothing in `public`:
-- no users, tokens, contacts, secrets, dead letters or audit log.
--
-- Design: security-barrier views, owned by the migrations' owner, that filter
-- on current_user mapped to an organisation through grafana_readers. A view
-- reads its tables with its owner's rights, so the readers need no right on
-- any base table; current_user inside a view is still the reading role (only
-- a SECURITY DEFINER function changes it), and security_barrier makes the
-- view's own filter run before any function a reader writes in its query, so
-- a leaky function cannot see the rows filtered out. No row-level security
-- on the base tables: it would need SELECT on them for the readers, would
-- also bind the application's roles, and TimescaleDB's continuous aggregates
-- (the hourly rollups) do not support it.
--
-- `fleet-server grafana roles` makes the roles and fills grafana_readers.

-- One row per reader role: an organisation's, or the province's (every
-- organisation). Not readable by the readers.
CREATE TABLE grafana_readers (
    role_name       name PRIMARY KEY,
    organisation_id bigint REFERENCES organisations (id) ON DELETE CASCADE,
    province        boolean NOT NULL DEFAULT false,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT grafana_readers_one_scope CHECK (province = (organisation_id IS NULL))
);

-- The sites the current role may see: those its organisation runs (runs),
-- and the border gates whose cameras it guards (runs = false: their
-- cameras only). Internal; the readers cannot select it.
CREATE VIEW grafana_reader_sites WITH (security_barrier) AS
SELECT s.id AS site_id, bool_or(r.province OR s.organisation_id = r.organisation_id) AS runs
FROM grafana_readers r
JOIN sites s ON r.province
             OR r.organisation_id IN (s.organisation_id, s.camera_guard_organisation_id)
WHERE r.role_name = current_user
GROUP BY s.id;

CREATE SCHEMA grafana;
COMMENT ON SCHEMA grafana IS
    'Views for the Grafana dashboards, scoped to the reading role''s organisation'
    ' (grafana_readers); the only schema Grafana''s roles may read';

CREATE VIEW grafana.organisations WITH (security_barrier) AS
SELECT o.id, o.code, o.name, o.name_en, o.kind
FROM organisations o
WHERE EXISTS (SELECT 1 FROM grafana_readers r
              WHERE r.role_name = current_user AND (r.province OR r.organisation_id = o.id));

CREATE VIEW grafana.sites WITH (security_barrier) AS
SELECT s.id, s.code, s.name, s.name_en, s.kind, s.district, s.organisation_id,
       s.camera_guard_organisation_id
FROM sites s
WHERE s.id IN (SELECT site_id FROM grafana_reader_sites);

CREATE VIEW grafana.boards WITH (security_barrier) AS
SELECT b.id, b.name, b.site_id, b.enabled, b.removed_at
FROM boards b
WHERE b.site_id IN (SELECT site_id FROM grafana_reader_sites);

CREATE VIEW grafana.cameras WITH (security_barrier) AS
SELECT c.board_id, c.camera_id, c.name
FROM cameras c
WHERE c.board_id IN (SELECT b.id FROM boards b
                     JOIN grafana_reader_sites v ON v.site_id = b.site_id);

CREATE VIEW grafana.telemetry_camera WITH (security_barrier) AS
SELECT t.device_id, t.camera_id, t.measured_at, t.status, t.reachable, t.rtsp_answered,
       t.latency_ms
FROM telemetry_camera t
WHERE t.device_id IN (SELECT b.id FROM boards b
                      JOIN grafana_reader_sites v ON v.site_id = b.site_id);

CREATE VIEW grafana.camera_hourly WITH (security_barrier) AS
SELECT h.bucket, h.device_id, h.camera_id, h.samples, h.ok_samples, h.reachable_samples,
       h.latency_avg
FROM camera_hourly h
WHERE h.device_id IN (SELECT b.id FROM boards b
                      JOIN grafana_reader_sites v ON v.site_id = b.site_id);

-- From here on: the sites the role's organisation runs only.

CREATE VIEW grafana.board_status WITH (security_barrier) AS
SELECT bs.board_id, bs.state, bs.reason, bs.since, bs.last_seen_at
FROM board_status bs
WHERE bs.board_id IN (SELECT b.id FROM boards b
                      JOIN grafana_reader_sites v ON v.site_id = b.site_id WHERE v.runs);

CREATE VIEW grafana.board_status_history WITH (security_barrier) AS
SELECT h.id, h.board_id, h.at, h.state
FROM board_status_history h
WHERE h.board_id IN (SELECT b.id FROM boards b
                     JOIN grafana_reader_sites v ON v.site_id = b.site_id WHERE v.runs);

CREATE VIEW grafana.power_hourly WITH (security_barrier) AS
SELECT r.bucket, r.device_id, r.samples, r.mains_lost_samples, r.on_battery_samples,
       r.low_battery_samples, r.battery_min, r.voltage_min
FROM power_hourly r
WHERE r.device_id IN (SELECT b.id FROM boards b
                      JOIN grafana_reader_sites v ON v.site_id = b.site_id WHERE v.runs);

CREATE VIEW grafana.telemetry_power WITH (security_barrier) AS
SELECT r.device_id, r.measured_at, r.runtime_s
FROM telemetry_power r
WHERE r.device_id IN (SELECT b.id FROM boards b
                      JOIN grafana_reader_sites v ON v.site_id = b.site_id WHERE v.runs);

CREATE VIEW grafana.network_hourly WITH (security_barrier) AS
SELECT r.bucket, r.device_id, r.samples, r.link_down_samples, r.rtt_avg, r.loss_avg,
       r.lte_rsrp_avg
FROM network_hourly r
WHERE r.device_id IN (SELECT b.id FROM boards b
                      JOIN grafana_reader_sites v ON v.site_id = b.site_id WHERE v.runs);

CREATE VIEW grafana.compliance_days WITH (security_barrier) AS
SELECT cd.board_id, cd.day, cd.status, cd.morning_minutes, cd.afternoon_minutes,
       cd.total_minutes, cd.advertising_minutes, cd.emergency_minutes, cd.morning_unknown,
       cd.afternoon_unknown
FROM compliance_days cd
WHERE cd.board_id IN (SELECT b.id FROM boards b
                      JOIN grafana_reader_sites v ON v.site_id = b.site_id WHERE v.runs);

-- An incident belongs to its site's organisation, or to its own when it
-- names no site; one with neither is the province's.
CREATE VIEW grafana.incidents WITH (security_barrier) AS
SELECT i.id, i.class, i.severity, i.state, i.board_id, i.site_id, i.organisation_id,
       i.parent_id, i.title, i.flapping, i.opened_at, i.acknowledged_at, i.resolved_at
FROM incidents i
WHERE CASE WHEN i.site_id IS NOT NULL
           THEN i.site_id IN (SELECT site_id FROM grafana_reader_sites WHERE runs)
           ELSE EXISTS (SELECT 1 FROM grafana_readers r
                        WHERE r.role_name = current_user
                          AND (r.province OR r.organisation_id = i.organisation_id)) END;

CREATE VIEW grafana.tickets WITH (security_barrier) AS
SELECT t.id, t.board_id, t.site_id, t.kind, t.priority, t.state, t.title, t.assignee,
       t.due_at, t.created_at, t.resolved_at, t.closed_at
FROM tickets t
WHERE t.site_id IN (SELECT site_id FROM grafana_reader_sites WHERE runs);

CREATE VIEW grafana.ticket_costs WITH (security_barrier) AS
SELECT c.id, c.ticket_id, c.category, c.quantity, c.amount_vnd, c.recorded_at
FROM ticket_costs c
WHERE c.ticket_id IN (SELECT t.id FROM tickets t
                      JOIN grafana_reader_sites v ON v.site_id = t.site_id WHERE v.runs);

-- The availability functions of migration 0016, for the sites the reader's
-- organisation runs (p_site_ids narrows them further). They read base
-- tables, so they run as their owner (SECURITY DEFINER), where current_user
-- is the owner: the reader is an argument whose default, current_user, is
-- evaluated in the caller's context, and it counts only when the session's
-- login role is that role or a member of it — a reader cannot pass another
-- reader's name.
CREATE FUNCTION grafana_reader_site_ids(p_reader name, p_site_ids bigint[])
RETURNS bigint[] LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT coalesce(array_agg(s.id), '{}')
    FROM sites s
    JOIN grafana_readers r ON r.province OR r.organisation_id = s.organisation_id
    WHERE r.role_name = p_reader
      AND CASE WHEN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = p_reader)
               THEN pg_has_role(session_user, p_reader, 'MEMBER') ELSE false END
      AND (p_site_ids IS NULL OR s.id = ANY (p_site_ids))
$$;

CREATE FUNCTION grafana.fleet_board_availability(
    p_from timestamptz,
    p_to timestamptz,
    p_exclude_maintenance boolean DEFAULT true,
    p_site_ids bigint[] DEFAULT NULL,
    p_reader name DEFAULT current_user
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
) LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT * FROM public.fleet_board_availability(
        p_from, p_to, p_exclude_maintenance, grafana_reader_site_ids(p_reader, p_site_ids))
$$;

CREATE FUNCTION grafana.fleet_site_availability(
    p_from timestamptz,
    p_to timestamptz,
    p_exclude_maintenance boolean DEFAULT true,
    p_site_ids bigint[] DEFAULT NULL,
    p_reader name DEFAULT current_user
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
) LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT * FROM public.fleet_site_availability(
        p_from, p_to, p_exclude_maintenance, grafana_reader_site_ids(p_reader, p_site_ids))
$$;

-- Functions are executable by PUBLIC unless revoked; `grafana roles` grants
-- these to the readers.
REVOKE EXECUTE ON FUNCTION grafana_reader_site_ids(name, bigint[]) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION grafana.fleet_board_availability(
    timestamptz, timestamptz, boolean, bigint[], name) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION grafana.fleet_site_availability(
    timestamptz, timestamptz, boolean, bigint[], name) FROM PUBLIC;
