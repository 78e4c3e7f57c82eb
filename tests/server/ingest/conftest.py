"""Ingest fixtures: settings for a test database and broker, a running service."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.support.mosquitto import Mosquitto

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
