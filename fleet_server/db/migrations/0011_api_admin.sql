-- The API's administrative lists: tickets sorted by urgency and lifecycle,
-- maintenance windows as they apply at a given time, and the audit log by target.

-- Sort orders only (the columns stay text): `ORDER BY priority` puts urgent
-- first, `ORDER BY state` follows the ticket's life.
CREATE TYPE ticket_priority_order AS ENUM ('urgent', 'high', 'normal', 'low');
CREATE TYPE ticket_state_order AS ENUM (
    'open', 'assigned', 'in_progress', 'on_hold', 'resolved', 'closed');

-- End of the occurrence of a maintenance window that covers `at`, or NULL when
-- none does. Daily and weekly windows repeat their first occurrence every
-- 24 h / 7 days, exactly as the engine's alerts.maintenance_until reads them.
CREATE FUNCTION maintenance_occurrence_end(
    starts timestamptz, ends timestamptz, recurrence text, at timestamptz
) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN at < starts THEN NULL
        WHEN recurrence = 'none' THEN CASE WHEN at < ends THEN ends END
        ELSE (
            SELECT CASE WHEN at < ends + shift THEN ends + shift END
            FROM (SELECT make_interval(secs => floor(extract(epoch FROM at - starts) / period)
                                               * period) AS shift
                  FROM (SELECT CASE recurrence WHEN 'daily' THEN 86400 ELSE 604800 END
                               AS period) p) s)
    END
$$;

CREATE INDEX maintenance_windows_site_idx ON maintenance_windows (site_id);
CREATE INDEX maintenance_windows_board_idx ON maintenance_windows (board_id);
CREATE INDEX ticket_incidents_incident_idx ON ticket_incidents (incident_id);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id, at DESC);
