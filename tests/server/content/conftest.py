"""Content fixtures: the engine's seeded database, clock and message store."""

from __future__ import annotations

from tests.server.engine.conftest import (  # noqa: F401 - shared fixtures
    clock,
    engine_conn,
    seeded,
    store,
)
from tests.server.ingest.conftest import make_settings  # noqa: F401 - shared fixture
