"""Data usage fixtures: the engine's seeded fleet, writer and clock."""

from tests.server.engine.conftest import clock, engine_conn, seeded, store  # noqa: F401
