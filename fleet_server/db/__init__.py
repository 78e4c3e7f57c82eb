"""Database access: connections, migrations and the storage variant."""
