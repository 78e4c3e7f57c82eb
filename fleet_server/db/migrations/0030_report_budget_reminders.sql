-- The annual report (Điều 14, docs/reports.md): amounts people enter on the
-- budget lines of Điều 11.1.b, and the reminders sent before the deadlines
-- of Điều 14.1 (15/12) and 14.2 (20/12).

-- An organisation's amount on one budget line: next year's estimate
-- ('estimate', keyed by the year it is for), or a cost spent outside tickets
-- ('spent', keyed by the report year it was spent in, e.g. operation and
-- content production). One amount per organisation, year, line and basis;
-- entering again replaces it (the audit log keeps the earlier one).
CREATE TABLE report_budget_entries (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    year            integer NOT NULL CHECK (year BETWEEN 2000 AND 2100),
    line            text NOT NULL CHECK (line IN ('power', 'maintenance', 'repair', 'operation',
                                                  'internet', 'content_production', 'other')),
    basis           text NOT NULL CHECK (basis IN ('estimate', 'spent')),
    amount_vnd      numeric(15, 0) NOT NULL CHECK (amount_vnd >= 0),
    note            text CHECK (length(note) <= 500),
    entered_by      text NOT NULL,
    entered_at      timestamptz NOT NULL,
    UNIQUE (organisation_id, year, line, basis)
);

-- One row per reminder queued: a deadline of a report year, for one
-- organisation (0: no organisation), so a reminder goes out once however
-- often the engine looks and whichever engine is active.
CREATE TABLE report_reminders (
    year            integer NOT NULL,
    deadline        text NOT NULL CHECK (deadline IN ('14.1', '14.2')),
    organisation_id bigint NOT NULL,
    queued_at       timestamptz NOT NULL,
    recipients      integer NOT NULL,
    PRIMARY KEY (year, deadline, organisation_id)
);

-- The outbox accepts the new notice kind. The allowed kinds are read from the
-- constraint as it stands, so a kind another migration added is kept.
DO $$
DECLARE
    kinds text[];
BEGIN
    SELECT array_agg(DISTINCT m[1] ORDER BY m[1]) INTO kinds
      FROM pg_constraint c,
           regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') AS m
     WHERE c.conrelid = 'notification_outbox'::regclass
       AND c.conname = 'notification_outbox_kind_check';
    IF kinds IS NULL THEN
        RAISE EXCEPTION 'notification_outbox_kind_check not found';
    END IF;
    IF NOT 'report_deadline' = ANY (kinds) THEN
        kinds := kinds || 'report_deadline'::text;
    END IF;
    ALTER TABLE notification_outbox DROP CONSTRAINT notification_outbox_kind_check;
    -- Written as ARRAY['a'::text, …], the shape PostgreSQL gives an IN list,
    -- so a later migration can read and extend it the same way.
    EXECUTE 'ALTER TABLE notification_outbox ADD CONSTRAINT notification_outbox_kind_check'
        || ' CHECK (kind = ANY (ARRAY['
        || (SELECT string_agg(quote_literal(k) || '::text', ', ') FROM unnest(kinds) AS k)
        || ']))';
END
$$;
