-- Approved content registry (Điều 9.3): a board showing a file whose SHA-256
-- is not approved, or outside its validity, is a security incident.
CREATE TABLE content_items (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title        text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
    kind         text NOT NULL CHECK (kind IN ('propaganda', 'advertising', 'emergency')),
    -- vi, an ethnic-minority language (ISO 639-3, e.g. hmn, tai), vi-en, vi-zh
    language     text NOT NULL CHECK (language ~ '^[a-z]{2,3}(-[a-z]{2,3})?$'),
    sha256       text NOT NULL UNIQUE CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    valid_from   timestamptz NOT NULL,
    valid_to     timestamptz,
    -- content supplied by the provincial Department (annual report, Điều 14)
    from_department boolean NOT NULL DEFAULT false,
    approved_by  text NOT NULL,
    approved_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
