-- Logs and diagnostics on request (issue 19, docs/agent.md "Logs and
-- diagnostics"): the bundles a board uploads on its logs channel when asked
-- with collect_logs: a journal extract or a diagnostics report (JSON),
-- redacted on the board and kept here as the gzip it came in (at most
-- 44,000 bytes, fleet_protocol MAX_LOG_BUNDLE_BYTES; the API unpacks it).
--
-- Written by ingest like every board message: the envelope columns, unique
-- per (board, boot, seq, measured_at) so a redelivered bundle is stored once.
-- An ordinary table on both storage variants; bundles captured more than
-- FLEET_LOG_BUNDLE_KEEP_DAYS ago are deleted by the engine's daily upkeep
-- (fleet_server/logbundles/storage.py).
CREATE TABLE log_bundles (
    id             bigserial PRIMARY KEY,
    device_id      text NOT NULL,
    boot           integer NOT NULL,
    seq            bigint NOT NULL,
    measured_at    timestamptz NOT NULL,
    sent_at        timestamptz NOT NULL,
    received_at    timestamptz NOT NULL,
    stored_at      timestamptz NOT NULL DEFAULT now(),
    replay         boolean NOT NULL,
    -- the collect_logs command that asked for it
    request_id     text NOT NULL,
    kind           text NOT NULL CHECK (kind IN ('journal', 'diagnostics')),
    captured_at    timestamptz NOT NULL,
    -- where the journal's window starts; NULL for diagnostics
    since          timestamptz,
    lines          integer NOT NULL CHECK (lines BETWEEN 0 AND 5000),
    truncated      boolean NOT NULL,
    -- the text's size on the board before the oldest lines were dropped
    original_bytes integer NOT NULL CHECK (original_bytes >= 0),
    body           bytea NOT NULL CHECK (length(body) BETWEEN 18 AND 44000),
    CHECK ((kind = 'journal') = (since IS NOT NULL)),
    UNIQUE (device_id, boot, seq, measured_at)
);
-- A board's bundles, newest first (the API's list and the board page).
CREATE INDEX log_bundles_board_idx ON log_bundles (device_id, id DESC);
-- The bundles of one request (a command's answer and its bundles together).
CREATE INDEX log_bundles_request_idx ON log_bundles (request_id);
-- The retention pass.
CREATE INDEX log_bundles_captured_idx ON log_bundles (captured_at);
