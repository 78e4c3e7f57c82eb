-- What the engine reads every second must be indexed, and board_latest must
-- say when (database clock) each row last changed: the engine's cursor uses
-- the database's clock, never an ingest host's.
CREATE INDEX board_states_stored_idx ON board_states (stored_at);
CREATE INDEX board_states_received_idx ON board_states (received_at);
ALTER TABLE board_latest ADD COLUMN stored_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX board_latest_kind_stored_idx ON board_latest (kind, stored_at);
