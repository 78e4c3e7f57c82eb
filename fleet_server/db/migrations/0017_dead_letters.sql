-- Dead letters keep no secrets (docs/architecture.md, "Ingest").
--
-- From now on ingest stores a refused payload with the credentials of URLs
-- removed (fleet_protocol.redact) and cut to FLEET_INGEST_DEAD_LETTER_KEEP_BYTES,
-- plus the SHA-256 of the payload as it was received, so an operator can
-- still match a dead letter against a board's spool or a capture.

ALTER TABLE dead_letters
    ADD COLUMN payload_sha256 bytea
        CONSTRAINT dead_letters_payload_sha256_length
        CHECK (payload_sha256 IS NULL OR octet_length(payload_sha256) = 32);

COMMENT ON COLUMN dead_letters.payload IS
    'the payload as received, credentials in URLs removed, cut to the kept size';
COMMENT ON COLUMN dead_letters.payload_size IS 'size of the payload as received, in bytes';
COMMENT ON COLUMN dead_letters.payload_sha256 IS
    'SHA-256 of the whole payload as received; NULL for summary rows (reason suppressed)'
    ' and for rows stored before migration 0017 whose payload was cut';

-- Rows stored before: they kept payloads as received, credentials included
-- (and so did every backup since). Remove "scheme://user:password@" from the
-- ones that hold one, and from a payload that was cut, whatever follows a
-- "scheme://" at its very end (a credential may have been cut before its
-- "@"). bytea is matched through its 'escape' text form (a backslash doubled,
-- non-ASCII bytes as \ooo), so a payload that is not UTF-8 round-trips
-- unchanged; "\/" is JSON's spelling of "/". A row whose whole payload was
-- kept gets its hash before it is changed.
CREATE FUNCTION pg_temp.fleet_redact(value text, cut boolean) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(
               regexp_replace(
                   value,
                   '([A-Za-z][A-Za-z0-9+.-]{0,31}:(\\\\)?/(\\\\)?/)[^\s/@":]{0,255}(:[^\s@"]{0,255})?@',
                   '\1', 'g'),
               CASE WHEN cut THEN '([A-Za-z][A-Za-z0-9+.-]{0,31}:(\\\\)?/(\\\\)?/)[^\s"]*$'
                    ELSE '$.^' END,
               '\1')
$$;

UPDATE dead_letters
   SET payload_sha256 = CASE WHEN octet_length(payload) = payload_size
                             THEN sha256(payload) END,
       payload = decode(
           pg_temp.fleet_redact(encode(payload, 'escape'), octet_length(payload) < payload_size),
           'escape'),
       topic = pg_temp.fleet_redact(topic, false),
       detail = pg_temp.fleet_redact(detail, false)
 WHERE pg_temp.fleet_redact(encode(payload, 'escape'), octet_length(payload) < payload_size)
       <> encode(payload, 'escape')
    OR pg_temp.fleet_redact(topic, false) <> topic
    OR pg_temp.fleet_redact(detail, false) <> detail;

DROP FUNCTION pg_temp.fleet_redact(text, boolean);
