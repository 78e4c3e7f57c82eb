-- Per-site and per-board rule thresholds, maintenance windows and tickets.

-- Overrides of a rule's defaults: a board's override beats its site's.
CREATE TABLE rule_overrides (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    rule      text NOT NULL,
    site_id   bigint REFERENCES sites (id) ON DELETE CASCADE,
    board_id  text REFERENCES boards (id) ON DELETE CASCADE,
    params    jsonb NOT NULL,
    CHECK (num_nonnulls(site_id, board_id) = 1),
    UNIQUE NULLS NOT DISTINCT (rule, site_id, board_id)
);

-- Planned work: incidents are still recorded, notifications are held.
CREATE TABLE maintenance_windows (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     bigint REFERENCES sites (id) ON DELETE CASCADE,
    board_id    text REFERENCES boards (id) ON DELETE CASCADE,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    recurrence  text NOT NULL DEFAULT 'none' CHECK (recurrence IN ('none', 'daily', 'weekly')),
    reason      text NOT NULL,
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at),
    CHECK (num_nonnulls(site_id, board_id) = 1)
);
CREATE INDEX maintenance_windows_time_idx ON maintenance_windows (starts_at, ends_at);

-- Who drives out to a site by default.
CREATE TABLE site_teams (
    site_id bigint PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    team    text NOT NULL
);

CREATE TABLE tickets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id      text REFERENCES boards (id),
    site_id       bigint NOT NULL REFERENCES sites (id),
    kind          text NOT NULL CHECK (kind IN ('corrective', 'preventive', 'inspection')),
    priority      text NOT NULL CHECK (priority IN ('urgent', 'high', 'normal', 'low')),
    state         text NOT NULL CHECK (state IN ('open', 'assigned', 'in_progress', 'on_hold',
                                                 'resolved', 'closed')),
    title         text NOT NULL,
    description   text NOT NULL DEFAULT '',
    assignee      text,
    team          text,
    due_at        timestamptz NOT NULL,
    -- set for tickets opened by a rule: at most one open ticket per key
    source_key    text,
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    resolved_at   timestamptz,
    closed_at     timestamptz,
    closing_note  text
);
CREATE UNIQUE INDEX tickets_one_open_per_source ON tickets (source_key)
    WHERE state NOT IN ('resolved', 'closed') AND source_key IS NOT NULL;
CREATE INDEX tickets_state_idx ON tickets (state, due_at);

CREATE TABLE ticket_incidents (
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    PRIMARY KEY (ticket_id, incident_id)
);

CREATE TABLE ticket_events (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id  bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    at         timestamptz NOT NULL,
    actor      text NOT NULL,
    kind       text NOT NULL CHECK (kind IN ('created', 'transition', 'comment', 'assigned',
                                             'cost', 'linked')),
    from_state text,
    to_state   text,
    note       text
);
CREATE INDEX ticket_events_ticket_idx ON ticket_events (ticket_id, at);

-- Parts and costs by the budget lines of Điều 11.
CREATE TABLE ticket_costs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id   bigint NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    category    text NOT NULL CHECK (category IN ('power', 'repair', 'maintenance',
                                                  'internet', 'other')),
    description text NOT NULL,
    quantity    numeric(12, 2) NOT NULL DEFAULT 1 CHECK (quantity > 0),
    amount_vnd  numeric(14, 0) NOT NULL CHECK (amount_vnd >= 0),
    recorded_by text NOT NULL,
    recorded_at timestamptz NOT NULL
);
CREATE INDEX ticket_costs_ticket_idx ON ticket_costs (ticket_id);

-- Preventive maintenance on a schedule, per board.
CREATE TABLE preventive_schedules (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id     text NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    every_days   integer NOT NULL CHECK (every_days BETWEEN 1 AND 730),
    next_due_on  date NOT NULL,
    title        text NOT NULL
);
