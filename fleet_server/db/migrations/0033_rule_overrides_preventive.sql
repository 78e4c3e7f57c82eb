-- Rule thresholds and preventive maintenance schedules become editable
-- through the API and the console (they were SQL only).

-- An override may be set for a whole organisation too: the board's beats
-- its site's, the site's beats its organisation's. Who set it and when.
ALTER TABLE rule_overrides
    ADD COLUMN organisation_id bigint REFERENCES organisations (id) ON DELETE CASCADE,
    ADD COLUMN updated_by text NOT NULL DEFAULT 'sql',
    ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now(),
    DROP CONSTRAINT rule_overrides_check,
    DROP CONSTRAINT rule_overrides_rule_site_id_board_id_key,
    ADD CONSTRAINT rule_overrides_one_target
        CHECK (num_nonnulls(organisation_id, site_id, board_id) = 1),
    ADD CONSTRAINT rule_overrides_params_object CHECK (jsonb_typeof(params) = 'object'),
    ADD CONSTRAINT rule_overrides_one_per_target
        UNIQUE NULLS NOT DISTINCT (rule, organisation_id, site_id, board_id);

-- A schedule is for one board or for a whole site (one ticket for the
-- site's visit); the ticket it opens carries its priority and checklist.
ALTER TABLE preventive_schedules
    ALTER COLUMN board_id DROP NOT NULL,
    ADD COLUMN site_id bigint REFERENCES sites (id) ON DELETE CASCADE,
    ADD COLUMN priority text NOT NULL DEFAULT 'normal'
        CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    ADD COLUMN checklist text NOT NULL DEFAULT '' CHECK (length(checklist) <= 4000),
    ADD COLUMN created_by text NOT NULL DEFAULT 'sql',
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN updated_by text,
    ADD COLUMN updated_at timestamptz,
    ADD CONSTRAINT preventive_schedules_one_target CHECK (num_nonnulls(site_id, board_id) = 1),
    ADD CONSTRAINT preventive_schedules_title_length CHECK (length(title) BETWEEN 1 AND 200);
CREATE INDEX preventive_schedules_due_idx ON preventive_schedules (next_due_on);
