-- Hourly rollups on plain PostgreSQL: ordinary tables that the engine refreshes
-- with fleet_refresh_rollups(from, to). Same names and columns as the
-- continuous aggregates of the TimescaleDB variant, so queries work on both.

CREATE TABLE heartbeat_hourly (
    device_id text NOT NULL, bucket timestamptz NOT NULL, samples bigint NOT NULL,
    cpu_avg double precision, cpu_max real, memory_max real, disk_max real,
    temperature_max real,
    PRIMARY KEY (device_id, bucket)
);
CREATE TABLE power_hourly (
    device_id text NOT NULL, bucket timestamptz NOT NULL, samples bigint NOT NULL,
    mains_lost_samples bigint NOT NULL, on_battery_samples bigint NOT NULL,
    low_battery_samples bigint NOT NULL, battery_min real, voltage_min real,
    voltage_avg double precision,
    PRIMARY KEY (device_id, bucket)
);
CREATE TABLE network_hourly (
    device_id text NOT NULL, bucket timestamptz NOT NULL, samples bigint NOT NULL,
    link_down_samples bigint NOT NULL, rtt_avg double precision, rtt_max real,
    loss_avg double precision, lte_rsrp_avg double precision,
    PRIMARY KEY (device_id, bucket)
);
CREATE TABLE camera_hourly (
    device_id text NOT NULL, camera_id text NOT NULL, bucket timestamptz NOT NULL,
    samples bigint NOT NULL, ok_samples bigint NOT NULL, reachable_samples bigint NOT NULL,
    latency_avg double precision,
    PRIMARY KEY (device_id, camera_id, bucket)
);
CREATE TABLE display_hourly (
    device_id text NOT NULL, bucket timestamptz NOT NULL, samples bigint NOT NULL,
    screen_on_samples bigint NOT NULL, player_running_samples bigint NOT NULL,
    PRIMARY KEY (device_id, bucket)
);

-- Recompute every hourly bucket that overlaps [from_ts, to_ts).
CREATE FUNCTION fleet_refresh_rollups(from_ts timestamptz, to_ts timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('hour', from_ts);
    hi timestamptz := date_trunc('hour', to_ts - interval '1 microsecond') + interval '1 hour';
BEGIN
    DELETE FROM heartbeat_hourly WHERE bucket >= lo AND bucket < hi;
    INSERT INTO heartbeat_hourly
    SELECT device_id, date_trunc('hour', measured_at), count(*), avg(cpu_percent),
           max(cpu_percent), max(memory_percent), max(disk_percent), max(temperature_c)
      FROM telemetry_heartbeat WHERE measured_at >= lo AND measured_at < hi
     GROUP BY 1, 2;

    DELETE FROM power_hourly WHERE bucket >= lo AND bucket < hi;
    INSERT INTO power_hourly
    SELECT device_id, date_trunc('hour', measured_at), count(*),
           count(*) FILTER (WHERE mains_present IS FALSE),
           count(*) FILTER (WHERE on_battery), count(*) FILTER (WHERE low_battery),
           min(battery_percent), min(input_voltage_v), avg(input_voltage_v)
      FROM telemetry_power WHERE measured_at >= lo AND measured_at < hi
     GROUP BY 1, 2;

    DELETE FROM network_hourly WHERE bucket >= lo AND bucket < hi;
    INSERT INTO network_hourly
    SELECT device_id, date_trunc('hour', measured_at), count(*),
           count(*) FILTER (WHERE NOT link_up), avg(rtt_ms), max(rtt_ms),
           avg(loss_percent), avg(lte_rsrp_dbm)
      FROM telemetry_network WHERE measured_at >= lo AND measured_at < hi
     GROUP BY 1, 2;

    DELETE FROM camera_hourly WHERE bucket >= lo AND bucket < hi;
    INSERT INTO camera_hourly
    SELECT device_id, camera_id, date_trunc('hour', measured_at), count(*),
           count(*) FILTER (WHERE status = 'ok'), count(*) FILTER (WHERE reachable),
           avg(latency_ms)
      FROM telemetry_camera WHERE measured_at >= lo AND measured_at < hi
     GROUP BY 1, 2, 3;

    DELETE FROM display_hourly WHERE bucket >= lo AND bucket < hi;
    INSERT INTO display_hourly
    SELECT device_id, date_trunc('hour', measured_at), count(*),
           count(*) FILTER (WHERE screen_on), count(*) FILTER (WHERE player_running)
      FROM telemetry_display WHERE measured_at >= lo AND measured_at < hi
     GROUP BY 1, 2;
END;
$$;
