-- The compliance pass inserts a display-derived play only when the player
-- did not record the same play itself (fleet_server/compliance/storage_pass.py:
-- play_log rows of source 'player' for the board and file overlapping it).
-- Through the primary key (device_id, started_at, …) that test walks the
-- board's whole history before the play's end: years of play log at ~84 plays
-- a board a day. Player records are few; this index makes the test a probe.
CREATE INDEX play_log_player_idx ON play_log (device_id, content_sha256, started_at)
    WHERE source = 'player';
