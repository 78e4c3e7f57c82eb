-- Who manages what: organisations, sites (border gates, district centres), boards, cameras.

CREATE TABLE organisations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_en     text CHECK (length(name_en) <= 200),
    kind        text NOT NULL DEFAULT 'other' CHECK (kind IN (
                    'provincial_department', 'economic_zone_board', 'border_guard',
                    'district_committee', 'other')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sites (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code            text NOT NULL UNIQUE CHECK (code ~ '^[a-z0-9][a-z0-9-]{0,63}$'),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    name_en         text CHECK (length(name_en) <= 200),
    kind            text NOT NULL DEFAULT 'district_centre' CHECK (kind IN (
                        'border_gate', 'district_centre', 'city', 'other')),
    district        text CHECK (length(district) <= 100),
    latitude        double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude       double precision CHECK (longitude BETWEEN -180 AND 180),
    -- The Border Guard unit responsible for this site's cameras (Điều 13.1.b).
    camera_guard_organisation_id bigint REFERENCES organisations (id),
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sites_organisation_idx ON sites (organisation_id);

CREATE TABLE boards (
    id                   text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$'),
    site_id              bigint NOT NULL REFERENCES sites (id),
    name                 text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    model                text CHECK (length(model) <= 100),
    serial               text CHECK (length(serial) <= 100),
    installed_on         date,
    heartbeat_interval_s integer NOT NULL DEFAULT 30 CHECK (heartbeat_interval_s BETWEEN 5 AND 86400),
    enabled              boolean NOT NULL DEFAULT true,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX boards_site_idx ON boards (site_id);

-- Morning/afternoon broadcast windows (Điều 8.1), in local time (Asia/Ho_Chi_Minh),
-- set for a whole site or overridden for one board.
CREATE TABLE broadcast_windows (
    id        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id   bigint REFERENCES sites (id) ON DELETE CASCADE,
    board_id  text REFERENCES boards (id) ON DELETE CASCADE,
    part      text NOT NULL CHECK (part IN ('morning', 'afternoon', 'evening')),
    starts_at time NOT NULL,
    ends_at   time NOT NULL,
    CHECK (ends_at > starts_at),
    CHECK (num_nonnulls(site_id, board_id) = 1),
    UNIQUE NULLS NOT DISTINCT (site_id, board_id, part)
);

-- Cameras as the server knows them. Credentials stay on the board (Điều 13.1.b).
CREATE TABLE cameras (
    board_id   text NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    camera_id  text NOT NULL CHECK (camera_id ~ '^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$'),
    name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (board_id, camera_id)
);
