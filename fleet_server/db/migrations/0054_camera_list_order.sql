-- The cameras list in its default order (failing cameras first, then
-- unknown, then ok, each by site name) read one health group at a time
-- (issue 20, cameras/storage_groups.py) instead of sorting every camera in
-- scope on each page (70-80 ms at 13,344 cameras).
--
-- A large group is walked in site-name order, sites by name, then their
-- boards and cameras, until the page is full: this index gives that order.
CREATE INDEX sites_name_idx ON sites (name);
-- A small group is found by its own index and sorted: the failing cameras
-- by camera_health_failing_idx (0051); the ok ones (none, when every
-- reading is older than the staleness limit) and the stale ones by the time
-- their reading was observed. An update of camera_health already changes
-- observed_at (no HOT update), so this adds one index entry a camera row.
CREATE INDEX camera_health_observed_idx ON camera_health (observed_at);
