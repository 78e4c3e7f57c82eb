-- Two lookups the console and the API made by reading whole tables (issue 20,
-- bench/api.py at 10,000 boards):
--
-- The content registry's "played" flag (console /content, /api/v1/content):
-- whether a board showed the file in the last 7 days of display telemetry
-- (content/storage.py PLAYED_SQL). Without an index on the file's hash,
-- PostgreSQL hashed the whole week of display samples for every page
-- (2.9 million rows a day at 10,000 boards: seconds a page); with it, each
-- item on the page is one index probe. The cost is one more btree entry per
-- display sample (one a board every few minutes) at ingest.
CREATE INDEX telemetry_display_content_idx
    ON telemetry_display (content_sha256, stored_at);

-- The days an emergency order exempted (emergency orders list and page, the
-- console's reports page: compliance/storage_orders.py exempt_days): a count
-- by exempt_order_id over every judged board-day (3.6 million a year at
-- 10,000 boards) for each order listed. Few days are exempt: a partial index.
CREATE INDEX compliance_days_exempt_order_idx
    ON compliance_days (exempt_order_id) WHERE exempt_order_id IS NOT NULL;

-- The compliance days list (GET /api/v1/compliance/days), newest day first
-- then by board: read in this index's order instead of sorting a day's
-- 10,000 board-days (and joining each to its board) for every page.
CREATE INDEX compliance_days_day_board_idx ON compliance_days (day DESC, board_id);
