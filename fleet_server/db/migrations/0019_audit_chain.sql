-- A tamper-evident audit log (docs/api.md "Audit log"): every row carries
-- the SHA-256 of the previous row's hash and its own canonical content, in
-- one chain numbered by chain_seq. Rewriting, removing or reordering a row
-- breaks the chain from that row on; `fleet-server audit verify` finds it.
--
-- Canonical content of a row (fleet_server/users/audit_chain.py computes the
-- same independently): the fields
--   chain_seq, id, at, actor, actor_user_id, action, target_type, target_id,
--   address, before, after, detail
-- in this order, each as text, each written as a netstring
-- "<length in UTF-8 bytes>:<text>," and a NULL as "-,". Text forms: integers
-- in decimal; at as UTC "YYYY-MM-DDTHH:MM:SS.ffffffZ" (microseconds, whatever
-- the session's time zone); address as inet's text output; before and after
-- as jsonb's text output (PostgreSQL's normalised key order and spacing).
--   row_hash = hex(SHA-256(UTF-8(prev_hash || canonical)))
-- prev_hash is the previous row's row_hash (64 hex digits), and 64 zeros for
-- the first row.

ALTER TABLE audit_log
    ADD COLUMN chain_seq bigint,
    ADD COLUMN prev_hash text,
    ADD COLUMN row_hash  text;

-- The head of the chain, one row: the trigger locks it (SELECT … FOR UPDATE)
-- so concurrent inserts take their turns and the chain never forks, under
-- any isolation level (under REPEATABLE READ a concurrent append makes the
-- later transaction fail with a serialisation error, to be retried).
CREATE TABLE audit_chain_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    last_seq  bigint NOT NULL,
    last_id   bigint,
    last_hash text NOT NULL CHECK (last_hash ~ '^[0-9a-f]{64}$')
);

CREATE FUNCTION audit_log_canonical(r audit_log) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT string_agg(
               CASE WHEN f IS NULL THEN '-,' ELSE octet_length(f)::text || ':' || f || ',' END,
               '' ORDER BY n)
      FROM unnest(ARRAY[
               r.chain_seq::text,
               r.id::text,
               to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
               r.actor,
               r.actor_user_id::text,
               r.action,
               r.target_type,
               r.target_id,
               r.address::text,
               r.before::text,
               r.after::text,
               r.detail]) WITH ORDINALITY AS t (f, n)
$$;

CREATE FUNCTION audit_log_row_hash(prev_hash text, r audit_log) RETURNS text
    LANGUAGE sql STABLE SET search_path = pg_catalog, public, pg_temp AS $$
    SELECT encode(sha256(convert_to(prev_hash || public.audit_log_canonical(r), 'UTF8')), 'hex')
$$;

-- Existing rows, in id order (the migration runs as the owner; the
-- append-only trigger is off for this one transaction only).
ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change;
DO $$
DECLARE
    r    audit_log;
    seq  bigint := 0;
    prev text := repeat('0', 64);
BEGIN
    FOR r IN SELECT * FROM audit_log ORDER BY id LOOP
        seq := seq + 1;
        r.chain_seq := seq;
        UPDATE audit_log
           SET chain_seq = seq, prev_hash = prev, row_hash = audit_log_row_hash(prev, r)
         WHERE id = r.id
        RETURNING row_hash INTO prev;
    END LOOP;
    INSERT INTO audit_chain_head (last_seq, last_id, last_hash)
    VALUES (seq, (SELECT max(id) FROM audit_log), prev);
END;
$$;
ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_change;

ALTER TABLE audit_log
    ALTER COLUMN chain_seq SET NOT NULL,
    ALTER COLUMN prev_hash SET NOT NULL,
    ALTER COLUMN row_hash  SET NOT NULL,
    ADD CONSTRAINT audit_log_chain_seq_key UNIQUE (chain_seq),
    ADD CONSTRAINT audit_log_hashes_hex
        CHECK (prev_hash ~ '^[0-9a-f]{64}$' AND row_hash ~ '^[0-9a-f]{64}$');

-- SECURITY DEFINER: the application role inserts into audit_log but has no
-- right on audit_chain_head; the function runs as its owner (the schema
-- owner), with a fixed search_path. Whatever an INSERT supplies for
-- chain_seq, prev_hash and row_hash is overwritten.
CREATE FUNCTION audit_log_chain() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp AS $$
DECLARE
    head public.audit_chain_head;
BEGIN
    SELECT * INTO STRICT head FROM public.audit_chain_head FOR UPDATE;
    NEW.chain_seq := head.last_seq + 1;
    NEW.prev_hash := head.last_hash;
    NEW.row_hash := public.audit_log_row_hash(head.last_hash, NEW);
    UPDATE public.audit_chain_head
       SET last_seq = NEW.chain_seq, last_id = NEW.id, last_hash = NEW.row_hash;
    RETURN NEW;
END;
$$;
REVOKE ALL ON FUNCTION audit_log_chain() FROM PUBLIC;
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
