-- Each camera's latest status, kept beside its board's latest camera reading
-- (issue 20). The cameras list (API and console, failing ones first) judged
-- every camera's health from its board's latest camera JSON on each request:
-- 13,344 jsonb_array_elements lookups before the sort at 10,000 boards.
--
-- camera_health holds one row per camera entry of each board's latest
-- ``camera`` reading in board_latest: whether the status counts as failing
-- (anything but ok/unauthorized, a missing status included), the reading's
-- times and the entry itself. It is written by statement-level triggers on
-- board_latest (one statement per ingest batch, whatever its size; the rows
-- come from the transition table), so every writer of board_latest keeps it
-- current in the same transaction. A camera without a row has no reading:
-- its health is unknown, as is a row observed before the staleness limit
-- (cameras/models.py STALE_AFTER, applied by the query: time is not stored).
CREATE TABLE camera_health (
    board_id    text NOT NULL,
    camera_id   text NOT NULL,
    failing     boolean NOT NULL,
    observed_at timestamptz NOT NULL,
    measured_at timestamptz NOT NULL,
    reading     jsonb NOT NULL,
    PRIMARY KEY (board_id, camera_id)
);
-- "failing first": the failing cameras whose reading is still fresh
CREATE INDEX camera_health_failing_idx ON camera_health (observed_at) WHERE failing;

-- The camera entries of board_latest rows (``fresh``, a transition table):
-- the first entry of each camera id, as the list read it before.
CREATE FUNCTION camera_health_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM camera_health h
     USING fresh n
     WHERE n.kind = 'camera' AND h.board_id = n.device_id
       AND NOT EXISTS (
           SELECT 1 FROM jsonb_array_elements(
               CASE WHEN jsonb_typeof(n.data->'cameras') = 'array'
                    THEN n.data->'cameras' ELSE '[]'::jsonb END) e
            WHERE e->>'camera_id' = h.camera_id);
    INSERT INTO camera_health AS h
           (board_id, camera_id, failing, observed_at, measured_at, reading)
    SELECT DISTINCT ON (n.device_id, e->>'camera_id')
           n.device_id, e->>'camera_id',
           NOT coalesce(e->>'status' IN ('ok', 'unauthorized'), false),
           n.observed_at, n.measured_at, e
      FROM fresh n
     CROSS JOIN LATERAL jsonb_array_elements(
               CASE WHEN jsonb_typeof(n.data->'cameras') = 'array'
                    THEN n.data->'cameras' ELSE '[]'::jsonb END) WITH ORDINALITY AS x(e, i)
     WHERE n.kind = 'camera' AND e->>'camera_id' IS NOT NULL
     ORDER BY n.device_id, e->>'camera_id', x.i
    ON CONFLICT (board_id, camera_id) DO UPDATE
       SET failing = EXCLUDED.failing, observed_at = EXCLUDED.observed_at,
           measured_at = EXCLUDED.measured_at, reading = EXCLUDED.reading;
    RETURN NULL;
END $$;

CREATE FUNCTION camera_health_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM camera_health h USING gone o
     WHERE o.kind = 'camera' AND h.board_id = o.device_id;
    RETURN NULL;
END $$;

CREATE FUNCTION camera_health_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM camera_health;
    RETURN NULL;
END $$;

CREATE TRIGGER camera_health_insert AFTER INSERT ON board_latest
    REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION camera_health_write();
CREATE TRIGGER camera_health_update AFTER UPDATE ON board_latest
    REFERENCING NEW TABLE AS fresh FOR EACH STATEMENT EXECUTE FUNCTION camera_health_write();
CREATE TRIGGER camera_health_delete AFTER DELETE ON board_latest
    REFERENCING OLD TABLE AS gone FOR EACH STATEMENT EXECUTE FUNCTION camera_health_forget();
CREATE TRIGGER camera_health_truncate AFTER TRUNCATE ON board_latest
    FOR EACH STATEMENT EXECUTE FUNCTION camera_health_truncate();

-- the readings already stored
INSERT INTO camera_health (board_id, camera_id, failing, observed_at, measured_at, reading)
SELECT DISTINCT ON (n.device_id, e->>'camera_id')
       n.device_id, e->>'camera_id',
       NOT coalesce(e->>'status' IN ('ok', 'unauthorized'), false),
       n.observed_at, n.measured_at, e
  FROM board_latest n
 CROSS JOIN LATERAL jsonb_array_elements(
           CASE WHEN jsonb_typeof(n.data->'cameras') = 'array'
                THEN n.data->'cameras' ELSE '[]'::jsonb END) WITH ORDINALITY AS x(e, i)
 WHERE n.kind = 'camera' AND e->>'camera_id' IS NOT NULL
 ORDER BY n.device_id, e->>'camera_id', x.i;
ANALYZE camera_health;
