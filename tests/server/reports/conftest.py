"""The API fixtures (an app with seeded accounts, ``as_``) for the report
routes' tests, with the clock fixed on a day of December 2026."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.server.api.conftest import (  # noqa: F401 (fixtures)
    api_db,
    app,
    as_,
    client,
    password_hash,
)
from tests.server.api.console.conftest import new_browser  # noqa: F401 (fixture)
from tests.support.clock import Clock

#: 12:00 on 6 December 2026, Vietnam time
NOW = datetime(2026, 12, 6, 5, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)
