-- The board page (console /boards/{id}, GET /api/v1/boards/{id}/broadcast-windows)
-- reads the windows set on the board itself (broadcast/storage.py
-- board_windows): the unique index leads with site_id, so that lookup read
-- the whole table (5,000 rows at 10,000 boards, 2.4 ms a page). Few boards
-- override their site's windows: a partial index.
CREATE INDEX broadcast_windows_board_idx
    ON broadcast_windows (board_id) WHERE board_id IS NOT NULL;
