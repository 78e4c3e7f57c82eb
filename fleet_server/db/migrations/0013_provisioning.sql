-- Board provisioning (docs/provisioning.md): how a board logs in to the broker,
-- when it was disabled or removed and by whom, and a notification that tells
-- ingest's cache of known boards that a board was added or changed.
--
-- No secret is ever stored here: a board's password lives only (hashed) in the
-- broker's dynamic-security file and in the board's credentials file; a
-- certificate board's private key only on the board. The certificate's serial
-- and expiry are public.

ALTER TABLE boards
    -- NULL: created before provisioning existed (or seeded), no account known.
    ADD COLUMN auth text CHECK (auth IN ('password', 'certificate')),
    ADD COLUMN provisioned_at timestamptz,
    ADD COLUMN credentials_rotated_at timestamptz,
    -- Hex serial and expiry of the board's current client certificate.
    ADD COLUMN cert_serial text CHECK (cert_serial ~ '^[0-9a-f]{1,40}$'),
    ADD COLUMN cert_not_after timestamptz,
    ADD COLUMN disabled_at timestamptz,
    ADD COLUMN disabled_by text CHECK (length(disabled_by) <= 200),
    -- Removed: the broker account is deleted, the row stays (disabled) so that
    -- telemetry, incidents and tickets keep their board; the id is not reused.
    ADD COLUMN removed_at timestamptz,
    ADD COLUMN removed_by text CHECK (length(removed_by) <= 200),
    ADD CONSTRAINT boards_removed_is_disabled CHECK (removed_at IS NULL OR NOT enabled),
    ADD CONSTRAINT boards_certificate_has_serial
        CHECK (auth IS DISTINCT FROM 'certificate' OR cert_serial IS NOT NULL);

-- Ingest keeps the set of known, enabled boards in memory and listens on
-- 'fleet_boards' (payload: the board id) to learn of new, enabled, disabled
-- and removed boards without a query per message.
CREATE FUNCTION boards_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('fleet_boards', OLD.id);
    ELSE
        PERFORM pg_notify('fleet_boards', NEW.id);
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER boards_notify_change
    AFTER INSERT OR DELETE OR UPDATE OF id, enabled ON boards
    FOR EACH ROW EXECUTE FUNCTION boards_notify_change();
