-- Notification delivery: contacts, routes, a transactional outbox and every
-- delivery attempt. The engine inserts outbox rows in the same transaction as
-- its incident changes; the notification worker sends them (docs/notifications.md).

-- A person or a duty desk that can be notified by e-mail and/or a signed webhook.
CREATE TABLE contacts (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL for a contractor who belongs to none of the organisations.
    organisation_id bigint REFERENCES organisations (id),
    kind            text NOT NULL DEFAULT 'person' CHECK (kind IN ('person', 'duty_desk')),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    email           text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$' AND length(email) <= 254),
    webhook_url     text CHECK (webhook_url ~ '^https?://' AND length(webhook_url) <= 2000),
    webhook_secret  text CHECK (length(webhook_secret) BETWEEN 16 AND 200),
    language        text NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en')),
    active          boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Webhooks are always signed.
    CHECK (webhook_url IS NULL OR webhook_secret IS NOT NULL)
);
CREATE INDEX contacts_organisation_idx ON contacts (organisation_id);

-- Who gets what. Every active route that matches a notice delivers it (no
-- "most specific wins"); NULL in a filter column means "any".
CREATE TABLE notification_routes (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint REFERENCES organisations (id) ON DELETE CASCADE,
    site_id          bigint REFERENCES sites (id) ON DELETE CASCADE,
    incident_class   text CHECK (incident_class IN ('technical', 'security', 'compliance')),
    -- Shell-style patterns on the engine's incident kind, e.g. {camera*}.
    incident_kinds   text[] CHECK (cardinality(incident_kinds) > 0),
    min_severity     text NOT NULL DEFAULT 'warning'
                         CHECK (min_severity IN ('critical', 'major', 'minor', 'warning')),
    channel          text NOT NULL CHECK (channel IN ('email', 'webhook')),
    contact_id       bigint NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    -- 0: normal recipients; 1: escalation list, only for escalated notices
    -- (an escalated notice reaches the level-0 routes too).
    escalation_level smallint NOT NULL DEFAULT 0 CHECK (escalation_level IN (0, 1)),
    active           boolean NOT NULL DEFAULT true,
    note             text CHECK (length(note) <= 500),
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_routes_contact_idx ON notification_routes (contact_id);

-- One row per recipient, channel and notice. Rendered at enqueue time in the
-- contact's language, so what was sent is what the row says.
CREATE TABLE notification_outbox (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at      timestamptz NOT NULL,
    idempotency_key text NOT NULL UNIQUE CHECK (length(idempotency_key) BETWEEN 1 AND 500),
    kind            text NOT NULL CHECK (kind IN (
                        'incident_opened', 'incident_resolved', 'incident_reminder',
                        'incident_escalated', 'ticket_assigned', 'ticket_due', 'site_incident')),
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    -- No cascade: the history of what was sent to whom is kept; deactivate contacts instead.
    contact_id      bigint NOT NULL REFERENCES contacts (id),
    language        text NOT NULL CHECK (language IN ('vi', 'en')),
    subject         text NOT NULL,
    body_text       text NOT NULL,
    payload         jsonb NOT NULL,
    -- Rows of one contact and channel with the same key are sent as one message
    -- when they fall due within the grouping window (e.g. 'site:12').
    group_key       text,
    -- No foreign keys: incidents arrive in 0004, and the outbox must never
    -- block the engine's transaction over a board or site being edited.
    incident_id     bigint,
    site_id         bigint,
    board_id        text,
    -- Not before this (maintenance-window hold); next_attempt_at >= available_at.
    available_at    timestamptz NOT NULL,
    state           text NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    claimed_by      text,
    claimed_at      timestamptz,
    last_error      text,
    sent_at         timestamptz,
    message_id      text,
    CHECK (next_attempt_at >= available_at),
    CHECK ((state = 'sending') = (claimed_at IS NOT NULL)),
    CHECK ((state = 'sent') = (sent_at IS NOT NULL))
);
-- The worker's "due" query: pending rows by next attempt.
CREATE INDEX notification_outbox_due_idx ON notification_outbox (next_attempt_at, id)
    WHERE state = 'pending';
-- Claims whose worker died (lease expired).
CREATE INDEX notification_outbox_sending_idx ON notification_outbox (claimed_at)
    WHERE state = 'sending';
-- cancel_for_incident / release_held.
CREATE INDEX notification_outbox_incident_idx ON notification_outbox (incident_id)
    WHERE state = 'pending';
CREATE INDEX notification_outbox_site_idx ON notification_outbox (site_id)
    WHERE state = 'pending';
CREATE INDEX notification_outbox_created_idx ON notification_outbox (created_at);

-- Every attempt, successful or not.
CREATE TABLE notification_deliveries (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    outbox_id    bigint NOT NULL REFERENCES notification_outbox (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL,
    ok           boolean NOT NULL,
    error        text,
    response     text,
    message_id   text,
    worker       text,
    CHECK (ok = (error IS NULL))
);
CREATE INDEX notification_deliveries_outbox_idx ON notification_deliveries (outbox_id, attempted_at);
