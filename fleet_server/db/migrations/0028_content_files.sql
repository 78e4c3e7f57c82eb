-- Điều 9.1: the broadcast files themselves are kept for inspection, not only
-- their hashes and play times. One row per stored file, keyed by its SHA-256
-- (the same hash as content_items.sha256 and play_log.content_sha256, which
-- link to it); the bytes live in the file store (content/files.py) under
-- sha256/ab/cd/<hash>, on the local filesystem or in an S3-compatible bucket.
CREATE TABLE content_files (
    sha256      text PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size_bytes  bigint NOT NULL CHECK (size_bytes > 0),
    media_type  text NOT NULL CHECK (length(media_type) BETWEEN 3 AND 200),
    -- the name it was first uploaded under (people read it; the store uses the hash)
    filename    text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
    backend     text NOT NULL CHECK (backend IN ('local', 's3')),
    stored_at   timestamptz NOT NULL DEFAULT now(),
    uploaded_by text NOT NULL
);
CREATE INDEX content_files_stored_at_idx ON content_files (stored_at);
