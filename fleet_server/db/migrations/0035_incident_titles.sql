-- Incident titles as data: the rule's title key and its params (the board,
-- the day, the figures), rendered in the reader's language by the console,
-- the API and the notices (fleet_server/incidents/titles.py). ``title`` keeps
-- the Vietnamese and English text together for old clients; an incident a
-- person reported has no key, its title is what the person wrote.
ALTER TABLE incidents ADD COLUMN title_key text;
ALTER TABLE incidents ADD COLUMN title_params jsonb NOT NULL DEFAULT '{}'::jsonb;

-- The rules' incidents already stored get their key from their rule and
-- details, so they too read in one language.
UPDATE incidents
   SET title_key = rule, title_params = jsonb_build_object('board', board_id)
 WHERE board_id IS NOT NULL AND reported_by IS NULL
   AND rule IN ('board_lost', 'board_stale', 'mains_lost', 'battery_low', 'network_degraded',
                'camera_unreachable', 'display_dark', 'clock_skew', 'disk_full',
                'overheating', 'agent_restarting', 'spool_dropping', 'spool_degraded',
                'content_unapproved');

UPDATE incidents
   SET title_key = 'site_outage.' || (details->>'cause'),
       title_params = jsonb_build_object('boards', jsonb_array_length(details->'boards'))
 WHERE rule = 'site_outage' AND details->>'cause' IN ('power', 'uplink')
   AND jsonb_typeof(details->'boards') = 'array';

UPDATE incidents
   SET title_key = rule,
       title_params = jsonb_build_object('board', board_id, 'day', details->>'day')
 WHERE rule = 'broadcast_noncompliant' AND board_id IS NOT NULL AND details ? 'day';

UPDATE incidents
   SET title_key = rule,
       title_params = jsonb_build_object(
           'board', board_id, 'day', details->>'day',
           'share', round((details->>'advertising_share_percent')::numeric, 1),
           'ceiling', (details->>'ceiling_percent')::numeric)
 WHERE rule = 'advertising_share_exceeded' AND board_id IS NOT NULL
   AND details ? 'day' AND details ? 'advertising_share_percent' AND details ? 'ceiling_percent';

-- A site incident's page lists the incidents attached to it.
CREATE INDEX incidents_parent_idx ON incidents (parent_id) WHERE parent_id IS NOT NULL;
