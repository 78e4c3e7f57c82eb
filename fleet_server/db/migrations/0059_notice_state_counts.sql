-- The notices page's counts by state (issue 20).
--
-- The console's /notices counts the notices the reader sees in each state,
-- on every view. Without an index that holds both the site and the state,
-- that count read every row of notification_outbox (24,000 in the
-- benchmark's 30 days: 8.5 ms for the admin, 14 ms for an operator, whose
-- scope is tested row by row). With (site_id, state) the rows about sites
-- are counted from the index alone (no heap visit once vacuumed), and the
-- rows without a site (report deadlines, content supply: few) are found by
-- its NULL range.

CREATE INDEX notification_outbox_site_state_idx ON notification_outbox (site_id, state);
