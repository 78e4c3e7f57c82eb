"""Command fixtures: the seeded database of the API tests, board messages
written through ingest's own writer, and helpers to make board answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
from tests.server.api.conftest import (  # noqa: F401 - shared fixtures
    api_db,
    password_hash,
)
from tests.server.engine.conftest import Clock, Store

Conn = psycopg.Connection[Any]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def conn(api_db: str) -> Iterator[Conn]:
    with psycopg.connect(api_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def board_store(api_db: str, clock: Clock) -> Iterator[Store]:
    """Board messages stored exactly as ingest stores them (BatchWriter)."""
    s = Store(api_db, clock)
    yield s
    s.conn.close()


def answer(
    store: Store,
    device: str,
    request_id: str,
    command: str,
    status: str = "ok",
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    measured_at: datetime | None = None,
    boot: int = 1,
) -> None:
    """A cmd_result from ``device``, stored through ingest's writer."""
    now = store.clock()
    message = fp.CommandResultMessage(
        schema_version=1,
        device_id=device,
        boot=boot,
        seq=store._seq(device, boot),
        measured_at=measured_at or now,
        sent_at=now,
        data=fp.CommandResultData(
            request_id=request_id,
            command=command,
            status=status,  # type: ignore[arg-type]
            output=output,
            error=error,
        ),
    )
    store.send(message, fp.command_result_topic(device))


def report(store: Store, device: str, version: int, *, applied: bool = True) -> None:
    """A config/reported message from ``device``."""
    now = store.clock()
    message = fp.ConfigReportedMessage(
        schema_version=1,
        device_id=device,
        boot=1,
        seq=store._seq(device, 1),
        measured_at=now,
        sent_at=now,
        data=fp.ConfigReportedData(
            version=version,
            applied=applied,
            error=None if applied else "intervals.heartbeat: bad",
            config={"intervals": {"heartbeat": 15}},
        ),
    )
    store.send(message, fp.config_reported_topic(device))
