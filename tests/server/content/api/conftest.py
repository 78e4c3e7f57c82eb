"""The API's fixtures (an app on a seeded fleet, accounts per role, the
clock) for the content workflow's API and console tests."""

from __future__ import annotations

from tests.server.api.conftest import (  # noqa: F401 - shared fixtures
    api_db,
    app,
    as_,
    client,
    clock,
    db_conn,
    password_hash,
)
from tests.server.api.console.conftest import new_browser  # noqa: F401 - shared fixture
