-- The per (user name, address) lock-out (fleet_server/api/security.py,
-- _pair_failures) counts failed logins of one name from one address since a
-- moment: action = 'login_failed' AND actor = $name AND address IS NOT
-- DISTINCT FROM $address AND at > $since. Only the address limit had an index
-- (audit_log_login_failed_idx, address first); this one serves the pair.
-- Partial on the failed logins, like that one: the rest of the log never
-- enters it. `at` before `address`: IS NOT DISTINCT FROM cannot bound an
-- index scan, so the name and the time bound it and the address is checked
-- in the index itself (an index-only scan: every column the count reads is here).
CREATE INDEX audit_log_login_pair_idx ON audit_log (actor, at, address)
    WHERE action = 'login_failed';
