"""Ingest fixtures: settings for a test database and broker, a running service,
a PostgreSQL of a test's own (to stop and restart)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

_ids = itertools.count()

Conn = psycopg.Connection[tuple[Any, ...]]


def count(conn: Conn, table: str) -> int:
    row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def make_settings(db_url: str, mosquitto: Mosquitto) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": db_url,
            "mqtt_url": mosquitto.url,
            "ingest_client_id": f"test-ingest-{next(_ids)}",
            "ingest_batch_delay_ms": 5,
            "ingest_retry_max_s": 0.5,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def own_postgres(tmp_path: Path) -> Iterator[EmbeddedPostgres]:
    """A PostgreSQL of this test's own, so it can be stopped and restarted."""
    server = EmbeddedPostgres(tmp_path / "pg", free_port(), durable=False)
    server.initialise()
    server.start()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE DATABASE fleet")
    migrate(server.url("fleet"))
    yield server
    server.stop(mode="immediate")


@contextmanager
def running(settings: Settings) -> Iterator[IngestService]:
    service = IngestService(settings)
    service.start()
    try:
        assert service.consumer.connected.wait(10), "ingest did not connect"
        assert service.consumer.subscribed.wait(10), "the broker did not confirm the subscriptions"
        yield service
    finally:
        service.stop()


@pytest.fixture
def ingest(make_settings: Callable[..., Settings]) -> Iterator[IngestService]:
    with running(make_settings()) as service:
        yield service
