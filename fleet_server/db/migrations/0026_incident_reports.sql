-- Điều 9.3: "... khi phát hiện có sự cố mất an toàn thông tin trên hệ thống
-- thiết bị phải kịp thời báo cho Cơ quan quản lý, vận hành ..." A person
-- reports an incident on a board or a site; it is opened, routed and
-- notified like a rule's incident (rule '<category>_reported', dedupe key
-- 'report:<random>'), and may carry photos.

-- The account that reported the incident; NULL: opened by a rule. A Border
-- Guard account sees the incidents it reported besides the camera ones.
ALTER TABLE incidents ADD COLUMN reported_by text;
CREATE INDEX incidents_reported_by_idx ON incidents (reported_by) WHERE reported_by IS NOT NULL;

CREATE TABLE incident_reports (
    incident_id      bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    reporter         text NOT NULL,
    reporter_user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    reporter_name    text,
    -- the client's address (as in the audit row)
    address          text,
    category         text NOT NULL
        CHECK (category IN ('security', 'screen', 'camera', 'power', 'network', 'other')),
    description      text NOT NULL DEFAULT '' CHECK (length(description) <= 4000),
    observed_at      timestamptz,
    -- idempotency: the same key from the same account is the same report
    client_key       text CHECK (length(client_key) BETWEEN 8 AND 100),
    -- without a key: the same report again within minutes is a double submit
    fingerprint      text NOT NULL,
    reported_at      timestamptz NOT NULL,
    UNIQUE (reporter, client_key)
);
CREATE INDEX incident_reports_fingerprint_idx ON incident_reports (fingerprint, reported_at DESC);

-- Photos, stored in the database with the incident (in the same transaction
-- as the report, in every backup, deleted with the incident). Content type
-- judged by the magic bytes; metadata (EXIF/GPS, XMP, text) removed before
-- storing; size and count limited by settings (docs/incidents.md).
CREATE TABLE incident_attachments (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size_bytes   integer NOT NULL CHECK (size_bytes > 0),
    sha256       text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    data         bytea NOT NULL,
    uploaded_by  text NOT NULL,
    uploaded_at  timestamptz NOT NULL,
    UNIQUE (incident_id, sha256)
);
