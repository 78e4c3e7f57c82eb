-- The 4G data budget (issue 19, docs/data-budget.md): what each board says it
-- moved on its link (fleet_protocol.usage DataUsage, sent with its network
-- readings), per local day, and the monthly budgets set per board or site.
--
-- The readings' new columns are nullable without a default (TimescaleDB adds
-- a column to a compressed hypertable that way only, one per statement).
ALTER TABLE telemetry_network ADD COLUMN usage_day date;
ALTER TABLE telemetry_network ADD COLUMN usage_day_sent bigint;
ALTER TABLE telemetry_network ADD COLUMN usage_day_received bigint;
ALTER TABLE telemetry_network ADD COLUMN usage_month_sent bigint;
ALTER TABLE telemetry_network ADD COLUMN usage_month_received bigint;
ALTER TABLE telemetry_network ADD COLUMN usage_factor smallint;
ALTER TABLE telemetry_network ADD COLUMN usage_counted text;

-- One row per board and local day: the largest counters the board reported
-- for it (its counters only grow within a day; a reading replayed late from
-- a spool, or repeated, changes nothing), and the factor of its newest
-- reading. Kept apart from the raw readings so a month and its week of daily
-- use are a few rows, whatever the raw retention.
CREATE TABLE board_data_usage (
    device_id      text NOT NULL,
    day            date NOT NULL,
    sent           bigint NOT NULL CHECK (sent >= 0),
    received       bigint NOT NULL CHECK (received >= 0),
    month_sent     bigint NOT NULL CHECK (month_sent >= 0),
    month_received bigint NOT NULL CHECK (month_received >= 0),
    factor         smallint NOT NULL DEFAULT 1 CHECK (factor IN (1, 2, 4, 8)),
    counted        text NOT NULL DEFAULT 'tcp_info' CHECK (counted IN ('tcp_info', 'payload')),
    measured_at    timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, day)
);
CREATE INDEX board_data_usage_day_idx ON board_data_usage (day);

-- Filled by ingest's own insert: a network reading that carries usage
-- updates its board's day in the same transaction (rows refused as
-- duplicates by ON CONFLICT DO NOTHING fire nothing).
CREATE FUNCTION fleet_data_usage() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO board_data_usage AS u
        (device_id, day, sent, received, month_sent, month_received, factor, counted,
         measured_at, updated_at)
    VALUES (NEW.device_id, NEW.usage_day, NEW.usage_day_sent, NEW.usage_day_received,
            NEW.usage_month_sent, NEW.usage_month_received, coalesce(NEW.usage_factor, 1),
            coalesce(NEW.usage_counted, 'tcp_info'), NEW.measured_at, now())
    ON CONFLICT (device_id, day) DO UPDATE
       SET sent = greatest(u.sent, EXCLUDED.sent),
           received = greatest(u.received, EXCLUDED.received),
           month_sent = greatest(u.month_sent, EXCLUDED.month_sent),
           month_received = greatest(u.month_received, EXCLUDED.month_received),
           factor = CASE WHEN EXCLUDED.measured_at >= u.measured_at
                         THEN EXCLUDED.factor ELSE u.factor END,
           counted = CASE WHEN EXCLUDED.measured_at >= u.measured_at
                          THEN EXCLUDED.counted ELSE u.counted END,
           measured_at = greatest(u.measured_at, EXCLUDED.measured_at),
           updated_at = now();
    RETURN NULL;
END $$;

CREATE TRIGGER telemetry_network_data_usage AFTER INSERT ON telemetry_network
    FOR EACH ROW WHEN (NEW.usage_day IS NOT NULL) EXECUTE FUNCTION fleet_data_usage();

-- A board's monthly budget, or its site's (a board's own wins). Without
-- either, FLEET_DATA_BUDGET_MB (when set) is every board's.
CREATE TABLE data_budgets (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    board_id      text UNIQUE REFERENCES boards (id) ON DELETE CASCADE,
    site_id       bigint UNIQUE REFERENCES sites (id) ON DELETE CASCADE,
    monthly_bytes bigint NOT NULL CHECK (monthly_bytes BETWEEN 1000000 AND 1000000000000000),
    adaptive      boolean NOT NULL DEFAULT false,
    updated_by    text NOT NULL,
    updated_at    timestamptz NOT NULL,
    CHECK ((board_id IS NULL) <> (site_id IS NULL))
);
