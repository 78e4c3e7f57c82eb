-- Indexes the API's lists need at 10,000 boards and 200,000 incidents
-- (bench/api.py, docs/performance.md): the incident history sorted by time,
-- and the open-incident count shown on every row of the board list.
CREATE INDEX incidents_opened_idx ON incidents (opened_at DESC NULLS LAST, id DESC);
CREATE INDEX incidents_unresolved_board_idx ON incidents (board_id) WHERE state <> 'resolved';
