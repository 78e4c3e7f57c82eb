-- The content workflow (Điều 10.1): units supply content, the Department
-- appraises it, approves it into the registry (content_items, what boards may
-- show) or returns it with comments; suppliers have obligations
-- (10.1.b quarterly, 10.1.c monthly, by the 20th) and an overdue notice.
-- content_items stays the registry of approved files that compliance, the
-- engine and the reports read: only an approved submission enters it.

CREATE TABLE content_suppliers (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    -- the organisation whose accounts submit for this unit; NULL: standalone
    -- (the Department records what it receives on the unit's behalf)
    organisation_id bigint UNIQUE REFERENCES organisations (id),
    obligation      text NOT NULL CHECK (obligation IN ('quarterly', 'monthly', 'none')),
    min_items       integer NOT NULL DEFAULT 1 CHECK (min_items BETWEEN 1 AND 100),
    -- whom the overdue notice reaches directly (besides matching routes)
    contact_id      bigint REFERENCES contacts (id) ON DELETE SET NULL,
    -- periods due before this date are not judged
    obligation_from date NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE content_submissions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    -- Điều 7: clause and, for 7.2, point; NULL for items approved before
    -- the workflow (their kind is the registry's)
    category     text CHECK (category ~ '^[a-z_]{1,40}$'),
    subcategory  text CHECK (subcategory ~ '^[a-z_]{1,40}$'),
    kind         text NOT NULL CHECK (kind IN ('propaganda', 'advertising', 'emergency')),
    language     text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[a-z]{2,3})?$'),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    description  text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
    -- NULL: the Department's own item
    supplier_id  bigint REFERENCES content_suppliers (id),
    state        text NOT NULL CHECK (state IN ('submitted', 'under_appraisal', 'approved',
                                                 'returned', 'retired')),
    submitted_by text NOT NULL,
    submitted_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    -- the registry item once approved
    content_id   bigint UNIQUE REFERENCES content_items (id) ON DELETE SET NULL
);
CREATE INDEX content_submissions_state_idx ON content_submissions (state, updated_at DESC);
CREATE INDEX content_submissions_supplier_idx
    ON content_submissions (supplier_id, submitted_at);

-- Who did what when, shown on the item (the audit log has the same rows).
CREATE TABLE content_submission_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    submission_id bigint NOT NULL REFERENCES content_submissions (id) ON DELETE CASCADE,
    at            timestamptz NOT NULL,
    actor         text NOT NULL,
    action        text NOT NULL CHECK (action IN ('submit', 'start_appraisal', 'approve',
                                                  'return', 'resubmit', 'retire', 'migrate')),
    from_state    text,
    to_state      text NOT NULL,
    comment       text NOT NULL DEFAULT '' CHECK (length(comment) <= 4000),
    sha256        text
);
CREATE INDEX content_submission_events_idx ON content_submission_events (submission_id, id);

-- One overdue notice per supplier and period, whatever the engine's passes.
CREATE TABLE content_overdue_notices (
    supplier_id bigint NOT NULL REFERENCES content_suppliers (id) ON DELETE CASCADE,
    period      text NOT NULL,
    due         date NOT NULL,
    queued_at   timestamptz NOT NULL,
    PRIMARY KEY (supplier_id, period)
);

-- Items approved before the workflow are approved submissions of the
-- Department, with one history row saying so.
INSERT INTO content_submissions (title, kind, language, sha256, state, submitted_by,
                                 submitted_at, updated_at, content_id)
SELECT title, kind, language, sha256, 'approved', approved_by, approved_at, approved_at, id
  FROM content_items ORDER BY id;
INSERT INTO content_submission_events (submission_id, at, actor, action, to_state, comment,
                                       sha256)
SELECT s.id, s.submitted_at, s.submitted_by, 'migrate', 'approved',
       'approved before the content workflow (migration 0029)', s.sha256
  FROM content_submissions s ORDER BY s.id;

-- Add a value to a CHECK (col IN (...)) constraint whatever else it holds
-- (other migrations may add theirs): prepend it to the ARRAY.
DO $$
DECLARE
    found record;
BEGIN
    FOR found IN
        SELECT c.conrelid::regclass AS tbl, c.conname, pg_get_constraintdef(c.oid) AS def,
               v.value
          FROM pg_constraint c
          JOIN (VALUES ('users', 'role', 'supplier'),
                       ('notification_outbox', 'kind', 'content_overdue')) AS v (tbl, col, value)
            ON c.conrelid = v.tbl::regclass AND c.contype = 'c'
         WHERE pg_get_constraintdef(c.oid) LIKE '%(' || v.col || ' = ANY (ARRAY[%'
    LOOP
        EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', found.tbl, found.conname);
        EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', found.tbl, found.conname,
                       replace(found.def, 'ARRAY[',
                               'ARRAY[' || quote_literal(found.value) || '::text, '));
    END LOOP;
END
$$;
