-- Engine: board connectivity state and its history, incidents and their timeline,
-- and the per-condition bookkeeping the rules need (for / clear-for, flapping).

-- Current connectivity of every board, as the engine decided it.
CREATE TABLE board_status (
    board_id             text PRIMARY KEY,
    state                text NOT NULL CHECK (state IN ('unknown', 'online', 'offline', 'lost', 'stale')),
    reason               text,
    since                timestamptz NOT NULL,
    -- (boot, seq) of the last state message applied: an older one is stale.
    boot                 integer,
    seq                  bigint,
    last_seen_at         timestamptz,
    heartbeat_interval_s integer,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

-- Every transition (the source of uptime figures).
CREATE TABLE board_status_history (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id  text NOT NULL,
    at        timestamptz NOT NULL,
    state     text NOT NULL,
    previous  text,
    reason    text,
    boot      integer,
    seq       bigint
);
CREATE INDEX board_status_history_board_idx ON board_status_history (board_id, at);

CREATE TABLE incidents (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- board or site + rule: at most one incident per key is not resolved.
    dedupe_key       text NOT NULL,
    rule             text NOT NULL,
    class            text NOT NULL CHECK (class IN ('technical', 'security', 'compliance')),
    severity         text NOT NULL CHECK (severity IN ('critical', 'major', 'minor', 'warning')),
    state            text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved')),
    board_id         text,
    site_id          bigint REFERENCES sites (id),
    organisation_id  bigint REFERENCES organisations (id),
    parent_id        bigint REFERENCES incidents (id),
    title            text NOT NULL,
    details          jsonb NOT NULL DEFAULT '{}',
    flapping         boolean NOT NULL DEFAULT false,
    opened_at        timestamptz NOT NULL,
    acknowledged_at  timestamptz,
    acknowledged_by  text,
    resolved_at      timestamptz,
    resolved_by      text,
    resolution_note  text,
    reopen_count     integer NOT NULL DEFAULT 0,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
-- Enforced by the database, so two engines (or two triggers milliseconds
-- apart) can never open the same incident twice.
CREATE UNIQUE INDEX incidents_one_unresolved_per_key ON incidents (dedupe_key)
    WHERE state <> 'resolved';
CREATE INDEX incidents_state_idx ON incidents (state, opened_at DESC);
CREATE INDEX incidents_board_idx ON incidents (board_id, opened_at DESC);
CREATE INDEX incidents_site_idx ON incidents (site_id, opened_at DESC);
CREATE INDEX incidents_key_resolved_idx ON incidents (dedupe_key, resolved_at DESC);

CREATE TABLE incident_events (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('opened', 'acknowledged', 'resolved', 'reopened',
                    'comment', 'flapping', 'attached', 'severity', 'notified', 'escalated')),
    actor       text NOT NULL,  -- 'engine:<rule>' or a user name
    note        text,
    data        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, at);

-- What each rule condition is doing right now, per key (survives an engine
-- failover, so a standby takes over the for/clear-for timers).
CREATE TABLE rule_conditions (
    dedupe_key      text PRIMARY KEY,
    rule            text NOT NULL,
    active          boolean NOT NULL,
    active_since    timestamptz,
    inactive_since  timestamptz,
    flips           timestamptz[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
