"""Reading the audit log (Điều 9.2): a page of it, or a CSV export for
inspectors. Rows are written by ``fleet_server.access.audit.record``; the
hash chain is checked by ``fleet_server.users.audit_chain``."""
