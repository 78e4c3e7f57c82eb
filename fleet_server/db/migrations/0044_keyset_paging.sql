-- Keyset paging (issue 20): the incidents, tickets and audit-log lists read a
-- page as "the rows after the cursor's sort key, in the sort's order" instead
-- of skipping offset rows (fleet_server/access/keyset.py). Each sort orders
-- by its column(s) then the id, both in the sort's direction, so one
-- ascending index on (column, id) serves it both ways: PostgreSQL reads
-- the page from the cursor's position and stops after it, the first page or
-- the two-hundredth. Measured on the incidents at 206,000 rows (bench/api.py):
-- without these, each sort but -opened_at and id sorted every row the caller
-- sees on every page (0.3-0.6 s); with them, a few milliseconds.

-- incidents: opened_at (either way), severity (worst then newest, also the
-- list's default: the expression is the one in incidents/storage.py _SELECT),
-- state, rule, board (board-less site incidents last, either way).
CREATE INDEX incidents_opened_id_idx ON incidents (opened_at, id);
CREATE INDEX incidents_severity_opened_id_idx ON incidents (
    (CASE severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2 WHEN 'minor' THEN 1 ELSE 0 END),
    opened_at,
    id
);
CREATE INDEX incidents_state_id_idx ON incidents (state, id);
CREATE INDEX incidents_rule_id_idx ON incidents (rule, id);
CREATE INDEX incidents_board_id_idx ON incidents (board_id, id);
CREATE INDEX incidents_board_desc_id_idx ON incidents (board_id DESC NULLS LAST, id DESC);

-- audit log: newest first (the default), by actor, by action.
CREATE INDEX audit_log_at_id_idx ON audit_log (at, id);
CREATE INDEX audit_log_actor_id_idx ON audit_log (actor, id);
CREATE INDEX audit_log_action_id_idx ON audit_log (action, id);

-- tickets: newest first (the default), by last change, by due time (17,500
-- rows at the bench: 40-60 ms a page sorting them all, 2-15 ms with these).
CREATE INDEX tickets_created_id_idx ON tickets (created_at, id);
CREATE INDEX tickets_updated_id_idx ON tickets (updated_at, id);
CREATE INDEX tickets_due_id_idx ON tickets (due_at, id);
