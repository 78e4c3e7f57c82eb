-- Remote commands to boards and their versioned desired configuration
-- (docs/commands.md).
--
-- A command row is written by the API (state 'queued'), marked 'sent' when the
-- broker acknowledges the publish (PUBACK), and finished by the board's answer:
-- ingest stores every cmd_result in command_results, and the trigger below
-- copies the answer onto the command in the same transaction. Expiry is not a
-- stored transition: board_command_state() derives it on read, the one place
-- that decides it.

CREATE TABLE board_commands (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    request_id      text NOT NULL UNIQUE
                    CHECK (request_id ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
    board_id        text NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    command         text NOT NULL CHECK (command ~ '^[a-z][a-z0-9_]{0,47}$'),
    args            jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(args) = 'object'),
    -- Why the operator sent it; stays on the server (not sent to the board).
    note            text CHECK (length(note) <= 500),
    state           text NOT NULL DEFAULT 'queued' CHECK (state IN (
                        'queued', 'sent', 'delivered', 'succeeded', 'failed', 'rejected',
                        'expired')),
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL CHECK (expires_at > created_at),
    -- Publishing attempts: the API's own and the background retry's.
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    -- The broker acknowledged the last publish with "no matching subscribers"
    -- (MQTT 5): the board was not connected and has no session, so nothing
    -- reached it. The command stays queued and is published again when the
    -- board is back (its birth message arrives), until it expires.
    awaiting_board  boolean NOT NULL DEFAULT false,
    sent_at         timestamptz,           -- the broker took it for the board's session
    delivered_at    timestamptz,           -- the board handled it (its answer's measured_at)
    finished_at     timestamptz,           -- the answer reached the server
    result_status   text CHECK (result_status IN ('ok', 'error', 'rejected', 'expired')),
    output          jsonb,
    error           text
);
CREATE INDEX board_commands_board_idx ON board_commands (board_id, created_at DESC, id DESC);
-- The background retry looks for these only.
CREATE INDEX board_commands_queued_idx ON board_commands (expires_at) WHERE state = 'queued';

-- The state to show at `at`: a command still waiting for its answer when its
-- expiry passes is 'expired'. Every read goes through this function, so
-- expiry is decided in one place, without a process that has to mark rows.
CREATE FUNCTION board_command_state(state text, expires_at timestamptz, at timestamptz)
RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state IN ('queued', 'sent', 'delivered') AND expires_at <= at
                THEN 'expired' ELSE state END
$$;

-- The board's answer finishes its command. Only a result from the board the
-- command was sent to, for the same command name, counts; the first answer
-- wins (the agent answers each request id once; a copy changes nothing); a
-- result with an unknown request id changes nothing (it stays in
-- command_results). An answer that arrives after expires_at still counts: the
-- agent checks expires_at itself before executing, so an 'ok' means the
-- command did run (its answer was delayed, e.g. spooled across an outage) and
-- the page must not claim it did not.
CREATE FUNCTION board_commands_take_result() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE board_commands c
       SET state = CASE NEW.status WHEN 'ok' THEN 'succeeded'
                                   WHEN 'error' THEN 'failed'
                                   WHEN 'rejected' THEN 'rejected'
                                   ELSE 'expired' END,
           result_status = NEW.status,
           sent_at = coalesce(c.sent_at, NEW.received_at),
           delivered_at = coalesce(c.delivered_at, NEW.measured_at),
           finished_at = NEW.received_at,
           output = NEW.output,
           error = NEW.error
     WHERE c.request_id = NEW.request_id
       AND c.board_id = NEW.device_id
       AND c.command = NEW.command
       AND c.finished_at IS NULL;
    RETURN NULL;
END
$$;

CREATE TRIGGER command_results_finish_command
    AFTER INSERT ON command_results
    FOR EACH ROW EXECUTE FUNCTION board_commands_take_result();

-- Desired configuration: one row per version, the newest is what the board
-- should run (published retained on config/desired). What the board applied
-- is in config_reports (ingest).
CREATE TABLE board_config_desired (
    board_id     text NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    version      bigint NOT NULL CHECK (version >= 1),
    config       jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
    created_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    published_at timestamptz,           -- the broker acknowledged the retained publish
    PRIMARY KEY (board_id, version)
);
CREATE INDEX board_config_desired_unpublished_idx ON board_config_desired (board_id)
    WHERE published_at IS NULL;
-- The board's last report of its configuration.
CREATE INDEX config_reports_device_received_idx ON config_reports (device_id, received_at DESC);
