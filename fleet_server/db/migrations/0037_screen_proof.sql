-- Screen and camera proof (issue 18, docs/agent.md "Screen proof"): what the
-- board saw in its last picture of the screen and of each camera, sent with
-- every display and camera reading (fleet_protocol PictureCheck), and the
-- pictures themselves (the snapshot channel), kept for a while.
--
-- The readings' new columns are nullable and have no default: on TimescaleDB
-- a column is added to a compressed hypertable that way only, one column
-- per statement; the same SQL serves both storage variants.

ALTER TABLE telemetry_display ADD COLUMN screen_captured_at timestamptz;
ALTER TABLE telemetry_display ADD COLUMN screen_phash text;
ALTER TABLE telemetry_display ADD COLUMN screen_luma_mean real;
ALTER TABLE telemetry_display ADD COLUMN screen_luma_stddev real;
ALTER TABLE telemetry_display ADD COLUMN screen_black boolean;
ALTER TABLE telemetry_display ADD COLUMN screen_frozen boolean;
ALTER TABLE telemetry_display ADD COLUMN screen_same_count integer;
ALTER TABLE telemetry_display ADD COLUMN screen_reference_distance smallint;
ALTER TABLE telemetry_display ADD COLUMN screen_source text;
ALTER TABLE telemetry_display ADD COLUMN screen_wrong_content boolean;
ALTER TABLE telemetry_display ADD COLUMN screen_error text;

ALTER TABLE telemetry_camera ADD COLUMN picture_captured_at timestamptz;
ALTER TABLE telemetry_camera ADD COLUMN picture_phash text;
ALTER TABLE telemetry_camera ADD COLUMN picture_luma_mean real;
ALTER TABLE telemetry_camera ADD COLUMN picture_luma_stddev real;
ALTER TABLE telemetry_camera ADD COLUMN picture_black boolean;
ALTER TABLE telemetry_camera ADD COLUMN picture_frozen boolean;
ALTER TABLE telemetry_camera ADD COLUMN picture_same_count integer;
ALTER TABLE telemetry_camera ADD COLUMN picture_reference_distance smallint;
ALTER TABLE telemetry_camera ADD COLUMN picture_covered boolean;
ALTER TABLE telemetry_camera ADD COLUMN picture_moved boolean;
ALTER TABLE telemetry_camera ADD COLUMN picture_error text;
-- QCVN 135:2024 checks a board can make
ALTER TABLE telemetry_camera ADD COLUMN firmware text;
ALTER TABLE telemetry_camera ADD COLUMN default_credentials boolean;

-- A downscaled JPEG of the screen or of one camera (at most 44,000 bytes,
-- fleet_protocol MAX_SNAPSHOT_BYTES). Written by ingest like every board
-- message: the envelope columns, unique per (board, boot, seq, measured_at)
-- so a redelivered picture is stored once. An ordinary table on both
-- storage variants: its retention keeps each board's latest picture of
-- every source whatever its age (fleet_server/snapshots/storage.py).
CREATE TABLE snapshots (
    id          bigserial PRIMARY KEY,
    device_id   text NOT NULL,
    boot        integer NOT NULL,
    seq         bigint NOT NULL,
    measured_at timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    replay      boolean NOT NULL,
    source      text NOT NULL CHECK (source IN ('screen', 'camera')),
    -- the camera's id; '' for the screen (a key column: never NULL)
    camera_id   text NOT NULL DEFAULT '',
    reason      text NOT NULL CHECK (reason IN ('interval', 'command', 'incident')),
    request_id  text,
    captured_at timestamptz NOT NULL,
    width       integer NOT NULL CHECK (width BETWEEN 1 AND 1920),
    height      integer NOT NULL CHECK (height BETWEEN 1 AND 1080),
    phash       text NOT NULL CHECK (phash ~ '^[0-9a-f]{16}$'),
    jpeg        bytea NOT NULL CHECK (length(jpeg) BETWEEN 4 AND 44000),
    CHECK ((source = 'camera') = (camera_id <> '')),
    UNIQUE (device_id, boot, seq, measured_at)
);
-- A board's pictures, newest first (the API's history, the latest per source).
CREATE INDEX snapshots_board_idx ON snapshots (device_id, source, camera_id, captured_at DESC, id DESC);
CREATE INDEX snapshots_board_id_idx ON snapshots (device_id, id DESC);
-- The retention pass.
CREATE INDEX snapshots_captured_idx ON snapshots (captured_at);

-- When a screen or camera incident opens (or reopens), the board is asked
-- for a picture of that screen or camera, so the incident has one: a
-- ``screenshot`` command (fleet_protocol SCREENSHOT_COMMAND) queued for the
-- commands service, whose background retry publishes queued commands
-- (fleet_server/commands/delivery.py). One per opening: the request id is
-- the incident's and its reopen count, a second attempt changes nothing.
CREATE FUNCTION fleet_proof_screenshot() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    target jsonb;
BEGIN
    IF NEW.board_id IS NULL OR NEW.state <> 'open' THEN
        RETURN NULL;
    END IF;
    IF NEW.rule IN ('screen_black', 'screen_frozen', 'screen_wrong_content') THEN
        target := jsonb_build_object('source', 'screen');
    ELSIF NEW.rule IN ('camera_black', 'camera_frozen', 'camera_covered', 'camera_moved')
          AND NEW.details->>'camera_id' ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$' THEN
        target := jsonb_build_object('source', 'camera', 'camera_id', NEW.details->>'camera_id');
    ELSE
        RETURN NULL;
    END IF;
    INSERT INTO board_commands (request_id, board_id, command, args, note, created_by,
                                created_at, expires_at)
    SELECT 'proof-' || NEW.id || '-' || NEW.reopen_count, NEW.board_id, 'screenshot', target,
           'incident ' || NEW.id, 'engine:' || NEW.rule,
           NEW.updated_at, NEW.updated_at + interval '15 minutes'
      FROM boards b WHERE b.id = NEW.board_id AND b.enabled
    ON CONFLICT (request_id) DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER incidents_proof_screenshot_opened
    AFTER INSERT ON incidents
    FOR EACH ROW WHEN (NEW.state = 'open')
    EXECUTE FUNCTION fleet_proof_screenshot();
CREATE TRIGGER incidents_proof_screenshot_reopened
    AFTER UPDATE OF state ON incidents
    FOR EACH ROW WHEN (OLD.state = 'resolved' AND NEW.state = 'open')
    EXECUTE FUNCTION fleet_proof_screenshot();
