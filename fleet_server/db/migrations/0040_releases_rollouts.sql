-- Agent releases and their staged rollouts (issue 19; docs/updates.md).
--
-- A release is a signed artifact the server serves to boards (the manifest
-- is kept whole: it is what the board verifies). A rollout sends one release
-- to a set of boards in waves; every decision it takes is a row here, so the
-- engine that follows it can be restarted (or replaced by another) mid-wave.

CREATE TABLE releases (
    version     text PRIMARY KEY CHECK (version ~ '^[0-9A-Za-z][0-9A-Za-z.+~-]{0,31}$'),
    artifact    text NOT NULL UNIQUE CHECK (artifact ~ '^[0-9A-Za-z][0-9A-Za-z.+~_-]{0,99}$'),
    size        bigint NOT NULL CHECK (size > 0),
    sha256      text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    key_id      text NOT NULL CHECK (key_id ~ '^[0-9a-f]{16}$'),
    signature   text NOT NULL CHECK (length(signature) BETWEEN 1 AND 200),
    manifest    jsonb NOT NULL CHECK (jsonb_typeof(manifest) = 'object'),
    notes       text CHECK (length(notes) <= 2000),
    created_by  text NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE TABLE rollouts (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    version             text NOT NULL REFERENCES releases (version),
    -- {"organisation_id": int|null, "site_ids": [...], "board_ids": [...]}
    target              jsonb NOT NULL CHECK (jsonb_typeof(target) = 'object'),
    -- [{"count": n} | {"percent": p}, ...]: each wave's size
    waves               jsonb NOT NULL CHECK (jsonb_typeof(waves) = 'array'),
    pause_s             integer NOT NULL CHECK (pause_s BETWEEN 0 AND 604800),
    -- aborts when failures exceed one of these (exactly one is set)
    max_failures        integer CHECK (max_failures >= 0),
    max_failure_percent numeric(5, 2) CHECK (max_failure_percent BETWEEN 0 AND 100),
    CHECK (num_nonnulls(max_failures, max_failure_percent) = 1),
    -- sends inside broadcast windows and maintenance holds too
    force               boolean NOT NULL DEFAULT false,
    health_deadline_s   integer NOT NULL CHECK (health_deadline_s BETWEEN 30 AND 3600),
    state               text NOT NULL CHECK (state IN (
                            'scheduled', 'running', 'paused', 'completed', 'aborted',
                            'cancelled')),
    reason              text CHECK (length(reason) <= 500),
    -- the wave under way (0: none started yet)
    current_wave        integer NOT NULL DEFAULT 0 CHECK (current_wave >= 0),
    -- the pause after a finished wave ends at this time
    next_wave_at        timestamptz,
    starts_at           timestamptz NOT NULL,
    created_by          text NOT NULL,
    created_at          timestamptz NOT NULL,
    finished_at         timestamptz,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX rollouts_active_idx ON rollouts (id)
    WHERE state IN ('scheduled', 'running', 'paused');

CREATE TABLE rollout_boards (
    rollout_id     bigint NOT NULL REFERENCES rollouts (id) ON DELETE CASCADE,
    board_id       text NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    -- the board's place in the rollout's order, and the wave it falls in
    position       integer NOT NULL CHECK (position >= 1),
    wave           integer NOT NULL CHECK (wave >= 1),
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN (
                       'pending', 'waiting', 'sent', 'downloading', 'installed', 'healthy',
                       'rolled_back', 'failed', 'skipped', 'cancelled')),
    reason         text CHECK (length(reason) <= 500),
    -- the update command sent to it
    request_id     text,
    version_before text,
    version_after  text,
    sent_at        timestamptz,
    installed_at   timestamptz,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (rollout_id, board_id),
    UNIQUE (rollout_id, position)
);
CREATE INDEX rollout_boards_board_idx ON rollout_boards (board_id, updated_at DESC);
-- The engine follows these every pass.
CREATE INDEX rollout_boards_in_flight_idx ON rollout_boards (rollout_id)
    WHERE state IN ('sent', 'downloading', 'installed');
-- The update events a rollout follows.
CREATE INDEX board_events_update_idx ON board_events (device_id, received_at)
    WHERE type = 'update';
