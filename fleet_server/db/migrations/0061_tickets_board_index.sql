-- A board's tickets by index (issue 20).
--
-- The board page lists the board's unfinished tickets, the console's and
-- the API's ticket lists filter by board_id, and no index led with the
-- board: PostgreSQL read every unfinished ticket of the fleet (by the
-- state index) and kept the board's, 5.3 ms for an operator on the
-- benchmark's 17,500 tickets (557 unfinished), growing with the fleet's
-- open work, and every ticket of the fleet when all states are asked for.
-- In the lists' default order (due first, id as tiebreak).
CREATE INDEX tickets_board_idx ON tickets (board_id, due_at, id);
