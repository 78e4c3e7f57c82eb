-- board_latest follows the board's session order (boot, seq), never its clock,
-- and says when the server reckons each message was measured:
--   observed_at = received_at - greatest(sent_at - measured_at, 0)
-- sent_at and measured_at are both on the board's clock, so its offset cancels
-- out: a live reading is observed when it was received, one replayed from the
-- spool after an outage keeps its age. Freshness is judged on observed_at
-- (docs/engine.md). board_latest is a plain table on both variants.
ALTER TABLE board_latest ADD COLUMN observed_at timestamptz;
-- Rows written before: sent_at was not kept. The earlier of the two times is
-- never fresher than the truth, and the board's next message replaces it.
UPDATE board_latest SET observed_at = least(received_at, measured_at);
ALTER TABLE board_latest ALTER COLUMN observed_at SET NOT NULL;

-- The engine's windows over raw telemetry (network averages, spool drops)
-- select by receipt, not by the board's clock. On TimescaleDB these are
-- per-chunk indexes; the queries also bound measured_at (with a day's slack)
-- so that only the newest chunks are searched.
CREATE INDEX telemetry_network_received_idx ON telemetry_network (received_at);
CREATE INDEX telemetry_heartbeat_received_idx ON telemetry_heartbeat (received_at);
