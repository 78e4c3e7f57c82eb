"""Personal accounts, roles and the audit log."""
