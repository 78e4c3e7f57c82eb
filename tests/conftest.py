"""Fixtures that start real services: PostgreSQL and Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support.mosquitto import Mosquitto
from tests.support.postgres import DatabaseFactory, admin_url_from_env, start_embedded


@pytest.fixture(scope="session", autouse=True)
def _data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing a test stores (broadcast files: FLEET_DATA_DIR) lands in the
    default /var/lib/fleet-server; a test may still give its own directory."""
    patch = pytest.MonkeyPatch()
    patch.setenv("FLEET_DATA_DIR", str(tmp_path_factory.mktemp("fleet-data")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def pg_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Admin URL of the test PostgreSQL server (existing or embedded)."""
    url = admin_url_from_env()
    if url:
        yield url
        return
    server = start_embedded(tmp_path_factory.mktemp("pg"))
    try:
        yield server.url()
    finally:
        server.stop(mode="immediate")


@pytest.fixture(scope="session")
def db_factory(pg_admin_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(pg_admin_url)
    yield factory
    factory.close()


@pytest.fixture
def db_url(db_factory: DatabaseFactory) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    url = db_factory.create()
    yield url
    db_factory.release(url)


@pytest.fixture
def db(db_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """The test's database as the application role (what the services use)."""
    with psycopg.connect(db_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def db_owner_url(db_factory: DatabaseFactory, db_url: str) -> str:
    """The test's database as the schema owner: for set-up the application may not do."""
    return db_factory.owner_url(db_url)


@pytest.fixture
def db_owner(db_owner_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    with psycopg.connect(db_owner_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def timescale(db_factory: DatabaseFactory) -> None:
    if db_factory.variant != "timescale":
        pytest.skip(
            "the timescaledb extension is not installed in the test PostgreSQL "
            "(set FLEET_TEST_DATABASE_URL to a server that preloads it)"
        )


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A fresh Mosquitto with the project's dev configuration on a free port."""
    broker = Mosquitto(tmp_path / "mosquitto")
    broker.start()
    yield broker
    broker.stop()
