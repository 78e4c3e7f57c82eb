-- TimescaleDB: telemetry tables become hypertables (1-day chunks) with
-- compression after 7 days, raw retention of 190 days (Điều 10.1.a asks for
-- six months; fleet-server can lengthen it, never shorten it below that) and
-- hourly continuous aggregates kept five years. Names and columns match the
-- plain-PostgreSQL variant.

CREATE EXTENSION IF NOT EXISTS timescaledb;

SELECT create_hypertable(t, 'measured_at', chunk_time_interval => INTERVAL '1 day',
                         migrate_data => true, if_not_exists => true)
  FROM unnest(ARRAY['telemetry_heartbeat', 'telemetry_power', 'telemetry_network',
                    'telemetry_camera', 'telemetry_display']::regclass[]) AS t;

ALTER TABLE telemetry_heartbeat SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'measured_at DESC, boot, seq');
ALTER TABLE telemetry_power SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'measured_at DESC, boot, seq');
ALTER TABLE telemetry_network SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'measured_at DESC, boot, seq');
ALTER TABLE telemetry_camera SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id, camera_id', timescaledb.compress_orderby = 'measured_at DESC, boot, seq');
ALTER TABLE telemetry_display SET (timescaledb.compress,
    timescaledb.compress_segmentby = 'device_id', timescaledb.compress_orderby = 'measured_at DESC, boot, seq');

SELECT add_compression_policy(t, INTERVAL '7 days', if_not_exists => true),
       add_retention_policy(t, INTERVAL '190 days', if_not_exists => true)
  FROM unnest(ARRAY['telemetry_heartbeat', 'telemetry_power', 'telemetry_network',
                    'telemetry_camera', 'telemetry_display']::regclass[]) AS t;

CREATE MATERIALIZED VIEW heartbeat_hourly WITH (timescaledb.continuous) AS
SELECT device_id, time_bucket(INTERVAL '1 hour', measured_at) AS bucket, count(*) AS samples,
       avg(cpu_percent) AS cpu_avg, max(cpu_percent) AS cpu_max,
       max(memory_percent) AS memory_max, max(disk_percent) AS disk_max,
       max(temperature_c) AS temperature_max
  FROM telemetry_heartbeat GROUP BY device_id, bucket WITH NO DATA;

CREATE MATERIALIZED VIEW power_hourly WITH (timescaledb.continuous) AS
SELECT device_id, time_bucket(INTERVAL '1 hour', measured_at) AS bucket, count(*) AS samples,
       count(*) FILTER (WHERE mains_present IS FALSE) AS mains_lost_samples,
       count(*) FILTER (WHERE on_battery) AS on_battery_samples,
       count(*) FILTER (WHERE low_battery) AS low_battery_samples,
       min(battery_percent) AS battery_min, min(input_voltage_v) AS voltage_min,
       avg(input_voltage_v) AS voltage_avg
  FROM telemetry_power GROUP BY device_id, bucket WITH NO DATA;

CREATE MATERIALIZED VIEW network_hourly WITH (timescaledb.continuous) AS
SELECT device_id, time_bucket(INTERVAL '1 hour', measured_at) AS bucket, count(*) AS samples,
       count(*) FILTER (WHERE NOT link_up) AS link_down_samples,
       avg(rtt_ms) AS rtt_avg, max(rtt_ms) AS rtt_max, avg(loss_percent) AS loss_avg,
       avg(lte_rsrp_dbm) AS lte_rsrp_avg
  FROM telemetry_network GROUP BY device_id, bucket WITH NO DATA;

CREATE MATERIALIZED VIEW camera_hourly WITH (timescaledb.continuous) AS
SELECT device_id, camera_id, time_bucket(INTERVAL '1 hour', measured_at) AS bucket,
       count(*) AS samples, count(*) FILTER (WHERE status = 'ok') AS ok_samples,
       count(*) FILTER (WHERE reachable) AS reachable_samples, avg(latency_ms) AS latency_avg
  FROM telemetry_camera GROUP BY device_id, camera_id, bucket WITH NO DATA;

CREATE MATERIALIZED VIEW display_hourly WITH (timescaledb.continuous) AS
SELECT device_id, time_bucket(INTERVAL '1 hour', measured_at) AS bucket, count(*) AS samples,
       count(*) FILTER (WHERE screen_on) AS screen_on_samples,
       count(*) FILTER (WHERE player_running) AS player_running_samples
  FROM telemetry_display GROUP BY device_id, bucket WITH NO DATA;

SELECT add_continuous_aggregate_policy(v, start_offset => INTERVAL '8 days',
                                       end_offset => INTERVAL '10 minutes',
                                       schedule_interval => INTERVAL '10 minutes',
                                       if_not_exists => true),
       add_retention_policy(v, INTERVAL '1826 days', if_not_exists => true)
  FROM unnest(ARRAY['heartbeat_hourly', 'power_hourly', 'network_hourly',
                    'camera_hourly', 'display_hourly']::regclass[]) AS v;
