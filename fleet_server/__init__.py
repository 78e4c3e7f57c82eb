"""The fleet server: ingest, engine and API roles over PostgreSQL/TimescaleDB."""

__version__ = "0.1.0"
