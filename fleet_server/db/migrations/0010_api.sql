-- The API and the web console: bearer tokens and console sessions, the team a
-- technician belongs to, and the indexes the lists and the login checks need.

-- Technicians see the tickets of their team (site_teams.team / tickets.team).
ALTER TABLE users ADD COLUMN team text CHECK (length(team) BETWEEN 1 AND 100);
ALTER TABLE users ADD COLUMN language text NOT NULL DEFAULT 'vi' CHECK (language IN ('vi', 'en'));

-- Bearer tokens (API) and console sessions. Only a SHA-256 of the secret is
-- kept, so a copy of the database does not let anyone in.
CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          text NOT NULL CHECK (kind IN ('bearer', 'session')),
    -- Sessions only: forms and console fetches must echo it (CSRF).
    csrf_token    text,
    address       inet,
    created_at    timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    revoked_at    timestamptz,
    CHECK (kind = 'bearer' OR csrf_token IS NOT NULL)
);
CREATE INDEX api_tokens_user_idx ON api_tokens (user_id) WHERE revoked_at IS NULL;

-- Failed logins per address over a window (the rate limit reads the audit log).
CREATE INDEX audit_log_login_failed_idx ON audit_log (address, at DESC)
    WHERE action = 'login_failed';
CREATE INDEX audit_log_action_idx ON audit_log (action, at DESC);

-- Lists: the console's incident queue and the technicians' ticket queue.
CREATE INDEX incidents_org_state_idx ON incidents (organisation_id, state, opened_at DESC);
CREATE INDEX tickets_assignee_idx ON tickets (assignee, state);
CREATE INDEX tickets_team_idx ON tickets (team, state);
CREATE INDEX tickets_site_idx ON tickets (site_id, created_at DESC);
CREATE INDEX sites_guard_idx ON sites (camera_guard_organisation_id);
CREATE INDEX board_status_history_at_idx ON board_status_history (at DESC);
