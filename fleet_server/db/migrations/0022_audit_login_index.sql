-- The per (user name, address) lock-out (fleet_server/api/security.py,
-- _pair_failures) counts failed logins of one name from one address since a
-- moment: action = 'login_failed' AND actor = $name AND address = $address
-- (or IS NULL) AND at > $since. Only the address limit had an index
-- (audit_log_login_failed_idx, address first); this one serves the pair:
-- equality on name and address, then the time range. Partial on the failed
-- logins, like that one: the rest of the log never enters it.
CREATE INDEX audit_log_login_pair_idx ON audit_log (actor, address, at)
    WHERE action = 'login_failed';
