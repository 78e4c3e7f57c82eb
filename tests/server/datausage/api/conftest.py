"""The API's fixtures: a seeded database with one account per role."""

from tests.server.api.conftest import (  # noqa: F401
    api_db,
    app,
    as_,
    client,
    clock,
    db_conn,
    password_hash,
    store,
)
from tests.server.api.console.conftest import new_browser  # noqa: F401
