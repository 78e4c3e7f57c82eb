-- The platform's own record of its broker and ingest being up, so that "why
-- is this board offline" can tell our side's outage from the board's
-- (fleet_server/engine/pipeline_health.py). One row per unbroken span: a
-- component extends its span with every beat, and a beat after a silence
-- starts a new one; a gap between spans is a time it was down or not
-- connected. Tiny: a few rows per process per day.
CREATE TABLE pipeline_uptime (
    component text NOT NULL CHECK (component IN ('ingest', 'broker')),
    instance  text NOT NULL CHECK (length(instance) BETWEEN 1 AND 200),
    up_from   timestamptz NOT NULL,
    up_to     timestamptz NOT NULL,
    CHECK (up_to >= up_from),
    PRIMARY KEY (component, instance, up_from)
);
CREATE INDEX pipeline_uptime_to_idx ON pipeline_uptime (up_to);
