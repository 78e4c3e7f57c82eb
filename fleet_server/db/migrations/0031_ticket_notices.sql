-- Notices about tickets (docs/notifications.md): assigned, due soon, overdue,
-- and overdue tickets escalated; and the outbox rows of a ticket or an
-- incident listed on its console page.

-- The outbox row names the ticket it is about (NULL: not about a ticket).
-- No foreign key, like incident_id: the outbox never blocks a ticket change.
ALTER TABLE notification_outbox ADD COLUMN ticket_id bigint;
CREATE INDEX notification_outbox_ticket_list_idx ON notification_outbox (ticket_id, id)
    WHERE ticket_id IS NOT NULL;
-- Every notice of an incident (its page), whatever its state.
CREATE INDEX notification_outbox_incident_list_idx ON notification_outbox (incident_id, id)
    WHERE incident_id IS NOT NULL;
UPDATE notification_outbox SET ticket_id = (payload->>'ticket_id')::bigint
 WHERE payload ? 'ticket_id' AND jsonb_typeof(payload->'ticket_id') = 'number';

-- One row per deadline notice queued for a ticket ('due', 'overdue',
-- 'escalated'), so each goes out once however often the engine looks and
-- whichever engine is active; ``due_at`` is the deadline it was about (a
-- deadline moved later makes a new one).
CREATE TABLE ticket_notices (
    ticket_id  bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    stage      text NOT NULL CHECK (stage IN ('due', 'overdue', 'escalated')),
    due_at     timestamptz NOT NULL,
    queued_at  timestamptz NOT NULL,
    recipients integer NOT NULL,
    PRIMARY KEY (ticket_id, stage, due_at)
);

-- The outbox accepts the new notice kinds, whatever other migrations added
-- (as 0029: the values prepended to the constraint's ARRAY, read as it stands).
DO $$
DECLARE
    con record;
    added text := '';
    kind text;
BEGIN
    SELECT c.conname, pg_get_constraintdef(c.oid) AS def INTO con
      FROM pg_constraint c
     WHERE c.conrelid = 'notification_outbox'::regclass AND c.contype = 'c'
       AND pg_get_constraintdef(c.oid) LIKE '%(kind = ANY (ARRAY[%';
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the notification_outbox kind constraint was not found';
    END IF;
    FOREACH kind IN ARRAY ARRAY['ticket_overdue', 'ticket_escalated'] LOOP
        IF position(quote_literal(kind) IN con.def) = 0 THEN
            added := added || quote_literal(kind) || '::text, ';
        END IF;
    END LOOP;
    IF added <> '' THEN
        EXECUTE format('ALTER TABLE notification_outbox DROP CONSTRAINT %I', con.conname);
        EXECUTE format('ALTER TABLE notification_outbox ADD CONSTRAINT %I %s', con.conname,
                       replace(con.def, 'ARRAY[', 'ARRAY[' || added));
    END IF;
END
$$;
