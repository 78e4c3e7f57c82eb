-- Personal accounts and the audit log (Điều 9.2: every account holder answers
-- for what is done with their access).

CREATE TABLE users (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username            text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{2,63}$'),
    full_name           text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 200),
    email               text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    role                text NOT NULL CHECK (role IN ('admin', 'operator', 'technician',
                                                      'border_guard', 'viewer')),
    organisation_id     bigint REFERENCES organisations (id),
    password_hash       text NOT NULL,
    active              boolean NOT NULL DEFAULT true,
    failed_logins       integer NOT NULL DEFAULT 0,
    locked_until        timestamptz,
    password_changed_at timestamptz NOT NULL DEFAULT now(),
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- Sites a Border Guard (or a district) account may see.
CREATE TABLE user_sites (
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    site_id bigint NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, site_id)
);

CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,           -- a username, or 'system:<role>'
    actor_user_id bigint,
    action        text NOT NULL,           -- e.g. login, login_failed, user.create
    target_type   text,
    target_id     text,
    address       inet,
    before        jsonb,
    after         jsonb,
    detail        text
);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, at DESC);

-- Append-only for everyone, whatever role the application connects with.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
