"""The API's fixtures (an app on a seeded fleet, accounts per role, the
clock) for the release and rollout API and console tests: the app trusts
one signing key made for the test and keeps artifacts under the test's own
directory."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.settings import Settings
from tests.server.api.conftest import (  # noqa: F401 - shared fixtures
    api_db,
    as_,
    client,
    clock,
    db_conn,
    password_hash,
)
from tests.server.api.console.conftest import new_browser  # noqa: F401 - shared fixture
from tests.server.releases.support import SigningKey
from tests.support.clock import Clock
from tests.support.ports import free_port


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.new()


@pytest.fixture
def app(api_db: str, clock: Clock, tmp_path: Path, key: SigningKey) -> Iterator[FastAPI]:  # noqa: F811
    settings = Settings(
        database_url=api_db,
        mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
        data_dir=str(tmp_path / "data"),
        release_public_keys=key.setting,
    )
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)
