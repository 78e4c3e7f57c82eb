-- Proof of play and broadcast compliance (Điều 8, 9.1, 10.1.a).
--
-- play_log: what each board showed and when. One row per play of one file,
-- keyed by (board, file, start) so the same play reported twice — by two
-- display samples, by a replayed message, or by the player's own record —
-- is one row whose end only ever grows. Derived data: rebuilt from
-- telemetry_display for any period still in the raw retention, kept five
-- years like the rollups.
CREATE TABLE play_log (
    device_id        text NOT NULL,
    content_sha256   text NOT NULL CHECK (content_sha256 ~ '^[0-9a-f]{64}$'),
    started_at       timestamptz NOT NULL,
    ended_at         timestamptz NOT NULL,
    content_id       text,
    content_kind     text CHECK (content_kind IN ('propaganda', 'advertising', 'emergency')),
    content_language text,
    -- 'display': derived from display samples; 'player': the player's own record
    source           text NOT NULL CHECK (source IN ('display', 'player')),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, started_at, content_sha256),
    CHECK (ended_at >= started_at)
);
CREATE INDEX play_log_time_idx ON play_log (started_at);
CREATE INDEX play_log_sha_idx ON play_log (content_sha256, started_at);

-- One row per board and local day (Asia/Ho_Chi_Minh): minutes on air in
-- each broadcast window, what was shown, and the verdict. Minutes are
-- measured from display samples: a sample holds until the next one, for at
-- most the compliance sample gap; time no sample covers is "unknown".
CREATE TABLE compliance_days (
    board_id              text NOT NULL,
    day                   date NOT NULL,
    morning_minutes       real NOT NULL,
    afternoon_minutes     real NOT NULL,
    -- on air over the whole day, inside or outside the windows
    total_minutes         real NOT NULL,
    advertising_minutes   real NOT NULL,
    emergency_minutes     real NOT NULL,
    -- minutes of each window no sample covers
    morning_unknown       real NOT NULL,
    afternoon_unknown     real NOT NULL,
    status                text NOT NULL CHECK (status IN (
                              'compliant', 'non_compliant', 'unknown', 'pending', 'no_windows', 'exempt')),
    -- the windows and thresholds the verdict used, for the inspector
    basis                 jsonb NOT NULL,
    computed_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, day)
);
CREATE INDEX compliance_days_day_idx ON compliance_days (day, status);

-- Late data: every display row knows when it was stored, so the compliance
-- job recomputes exactly the days that received data since its last run.
CREATE INDEX telemetry_display_stored_idx ON telemetry_display (stored_at);
-- Players that report their own play records send them as events of type
-- content_played (docs/compliance.md).
CREATE INDEX board_events_played_idx ON board_events (stored_at) WHERE type = 'content_played';

-- The compliance job's progress (a key per cursor), so a standby engine
-- continues where the leader stopped.
CREATE TABLE job_cursors (
    name       text PRIMARY KEY,
    position   timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
