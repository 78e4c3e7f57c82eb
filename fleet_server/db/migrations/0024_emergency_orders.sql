-- Điều 8.2: emergency information takes precedence over the broadcast
-- minimum only on the order of a competent authority. An order names the
-- authority, its document number and date, the period and the sites or
-- boards it covers; a compliance window is exempt only where an order
-- covers it (compliance_days.exempt_order_id says which).
CREATE TABLE emergency_orders (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    authority       text NOT NULL CHECK (length(authority) BETWEEN 1 AND 300),
    document_number text NOT NULL CHECK (length(document_number) BETWEEN 1 AND 100),
    document_date   date NOT NULL,
    summary         text NOT NULL DEFAULT '' CHECK (length(summary) <= 2000),
    starts_at       timestamptz NOT NULL,
    ends_at         timestamptz NOT NULL,
    -- every site of the province
    all_sites       boolean NOT NULL DEFAULT false,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_by      text,
    revoked_at      timestamptz,
    revoke_reason   text,
    CHECK (ends_at > starts_at),
    CHECK ((revoked_at IS NULL) = (revoked_by IS NULL))
);
CREATE INDEX emergency_orders_period_idx ON emergency_orders (starts_at, ends_at);

CREATE TABLE emergency_order_sites (
    order_id bigint NOT NULL REFERENCES emergency_orders (id) ON DELETE CASCADE,
    site_id  bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    PRIMARY KEY (order_id, site_id)
);

CREATE TABLE emergency_order_boards (
    order_id bigint NOT NULL REFERENCES emergency_orders (id) ON DELETE CASCADE,
    board_id text NOT NULL REFERENCES boards (id) ON DELETE CASCADE,
    PRIMARY KEY (order_id, board_id)
);

ALTER TABLE compliance_days
    ADD COLUMN exempt_order_id bigint REFERENCES emergency_orders (id);
