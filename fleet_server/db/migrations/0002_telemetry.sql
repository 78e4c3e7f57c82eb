-- One table per message kind. Every row carries the envelope; (device, boot, seq,
-- measured_at) is unique so a redelivered message never makes a second row. The
-- time column is part of the key so the same tables can become hypertables.
-- No foreign key to boards: ingest must never lose a sample because a board row
-- is missing or being edited; unknown boards are a server-side check.

CREATE TABLE board_states (
    device_id   text NOT NULL,
    boot        integer NOT NULL,
    seq         bigint NOT NULL,
    measured_at timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    replay      boolean NOT NULL,
    status      text NOT NULL CHECK (status IN ('online', 'offline', 'lost')),
    agent_version text,
    reason      text,
    heartbeat_interval_s integer,
    UNIQUE (device_id, boot, seq, measured_at)
);

CREATE TABLE telemetry_heartbeat (
    device_id      text NOT NULL,
    boot           integer NOT NULL,
    seq            bigint NOT NULL,
    measured_at    timestamptz NOT NULL,
    sent_at        timestamptz NOT NULL,
    received_at    timestamptz NOT NULL,
    stored_at      timestamptz NOT NULL DEFAULT now(),
    replay         boolean NOT NULL,
    uptime_s       bigint NOT NULL,
    agent_version  text NOT NULL,
    cpu_percent    real NOT NULL,
    memory_percent real NOT NULL,
    disk_percent   real NOT NULL,
    temperature_c  real,
    clock_synced   boolean,
    spool_pending  bigint NOT NULL,
    spool_dropped  bigint NOT NULL,
    UNIQUE (device_id, boot, seq, measured_at)
);

CREATE TABLE telemetry_power (
    device_id       text NOT NULL,
    boot            integer NOT NULL,
    seq             bigint NOT NULL,
    measured_at     timestamptz NOT NULL,
    sent_at         timestamptz NOT NULL,
    received_at     timestamptz NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    replay          boolean NOT NULL,
    source          text NOT NULL,
    mains_present   boolean,
    on_battery      boolean NOT NULL,
    low_battery     boolean NOT NULL,
    battery_percent real,
    runtime_s       integer,
    input_voltage_v real,
    ups_status      text,
    UNIQUE (device_id, boot, seq, measured_at)
);

CREATE TABLE telemetry_network (
    device_id          text NOT NULL,
    boot               integer NOT NULL,
    seq                bigint NOT NULL,
    measured_at        timestamptz NOT NULL,
    sent_at            timestamptz NOT NULL,
    received_at        timestamptz NOT NULL,
    stored_at          timestamptz NOT NULL DEFAULT now(),
    replay             boolean NOT NULL,
    interface          text,
    link_up            boolean NOT NULL,
    target             text,
    rtt_ms             real,
    loss_percent       real,
    rx_bytes           bigint,
    tx_bytes           bigint,
    lte_operator       text,
    lte_access_tech    text,
    lte_signal_percent real,
    lte_rssi_dbm       real,
    lte_rsrp_dbm       real,
    lte_rsrq_db        real,
    lte_sinr_db        real,
    UNIQUE (device_id, boot, seq, measured_at)
);

-- One row per camera per message.
CREATE TABLE telemetry_camera (
    device_id     text NOT NULL,
    boot          integer NOT NULL,
    seq           bigint NOT NULL,
    measured_at   timestamptz NOT NULL,
    sent_at       timestamptz NOT NULL,
    received_at   timestamptz NOT NULL,
    stored_at     timestamptz NOT NULL DEFAULT now(),
    replay        boolean NOT NULL,
    camera_id     text NOT NULL,
    reachable     boolean NOT NULL,
    rtsp_answered boolean NOT NULL,
    status        text NOT NULL,
    latency_ms    real,
    error         text,
    UNIQUE (device_id, boot, seq, camera_id, measured_at)
);

CREATE TABLE telemetry_display (
    device_id          text NOT NULL,
    boot               integer NOT NULL,
    seq                bigint NOT NULL,
    measured_at        timestamptz NOT NULL,
    sent_at            timestamptz NOT NULL,
    received_at        timestamptz NOT NULL,
    stored_at          timestamptz NOT NULL DEFAULT now(),
    replay             boolean NOT NULL,
    screen_on          boolean,
    player_running     boolean NOT NULL,
    content_id         text,
    content_kind       text CHECK (content_kind IN ('propaganda', 'advertising', 'emergency')),
    content_sha256     text,
    content_language   text,
    content_started_at timestamptz,
    UNIQUE (device_id, boot, seq, measured_at)
);

CREATE TABLE board_events (
    device_id   text NOT NULL,
    boot        integer NOT NULL,
    seq         bigint NOT NULL,
    measured_at timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    replay      boolean NOT NULL,
    type        text NOT NULL,
    severity    text NOT NULL,
    message     text NOT NULL,
    details     jsonb NOT NULL,
    UNIQUE (device_id, boot, seq, measured_at)
);

CREATE TABLE command_results (
    device_id   text NOT NULL,
    boot        integer NOT NULL,
    seq         bigint NOT NULL,
    measured_at timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    replay      boolean NOT NULL,
    request_id  text NOT NULL,
    command     text NOT NULL,
    status      text NOT NULL,
    output      jsonb,
    error       text,
    UNIQUE (device_id, boot, seq, measured_at)
);

CREATE TABLE config_reports (
    device_id   text NOT NULL,
    boot        integer NOT NULL,
    seq         bigint NOT NULL,
    measured_at timestamptz NOT NULL,
    sent_at     timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now(),
    replay      boolean NOT NULL,
    version     bigint NOT NULL,
    applied     boolean NOT NULL,
    error       text,
    config      jsonb NOT NULL,
    UNIQUE (device_id, boot, seq, measured_at)
);

CREATE INDEX board_states_device_time_idx ON board_states (device_id, measured_at DESC);
CREATE INDEX telemetry_heartbeat_device_time_idx ON telemetry_heartbeat (device_id, measured_at DESC);
CREATE INDEX telemetry_power_device_time_idx ON telemetry_power (device_id, measured_at DESC);
CREATE INDEX telemetry_network_device_time_idx ON telemetry_network (device_id, measured_at DESC);
CREATE INDEX telemetry_camera_device_time_idx ON telemetry_camera (device_id, camera_id, measured_at DESC);
CREATE INDEX telemetry_display_device_time_idx ON telemetry_display (device_id, measured_at DESC);
CREATE INDEX board_events_device_time_idx ON board_events (device_id, measured_at DESC);
CREATE INDEX command_results_request_idx ON command_results (request_id);

-- The newest message of each kind per board (by boot, then seq), for pages and rules.
CREATE TABLE board_latest (
    device_id   text NOT NULL,
    kind        text NOT NULL,
    boot        integer NOT NULL,
    seq         bigint NOT NULL,
    measured_at timestamptz NOT NULL,
    received_at timestamptz NOT NULL,
    data        jsonb NOT NULL,
    PRIMARY KEY (device_id, kind)
);

-- Messages ingest could not accept: kept, never silently dropped.
CREATE TABLE dead_letters (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at  timestamptz NOT NULL,
    stored_at    timestamptz NOT NULL DEFAULT now(),
    topic        text NOT NULL,
    device_id    text,
    reason       text NOT NULL,
    detail       text NOT NULL,
    payload      bytea NOT NULL,
    payload_size integer NOT NULL
);
CREATE INDEX dead_letters_received_idx ON dead_letters (received_at DESC);
CREATE INDEX dead_letters_reason_idx ON dead_letters (reason, received_at DESC);
