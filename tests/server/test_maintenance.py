"""Rollups and retention on plain PostgreSQL (the engine's upkeep)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from fleet_server.db.migrate import migrate
from fleet_server.telemetry import maintenance
from fleet_server.telemetry.storage import Accepted, BatchWriter
from tests.support import messages as m
from tests.support.postgres import DatabaseFactory, with_dbname

NOW = datetime(2026, 11, 28, 3, 30, tzinfo=UTC)


@pytest.fixture
def plain(db_factory: DatabaseFactory) -> str:
    name = "fleet_plain_upkeep"
    with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_dbname(db_factory.admin_url, name)
    migrate(url, timescale=False)
    return url


def store(conn: psycopg.Connection[Any], *messages: tuple[str, bytes]) -> None:
    import fleet_protocol as fp  # noqa: PLC0415

    writer = BatchWriter(conn)
    writer.write([Accepted(fp.decode(t, p), NOW, t, p) for t, p in messages], [])  # type: ignore[arg-type]


def test_rollups_refresh_on_plain_postgresql(plain: str) -> None:
    with psycopg.connect(plain, autocommit=True) as conn:
        assert maintenance.is_plain(conn)
        store(
            conn,
            *(
                m.heartbeat(seq=i, at=NOW - timedelta(minutes=i), cpu_percent=float(i))
                for i in range(1, 6)
            ),
        )
        maintenance.refresh_rollups(conn, NOW - timedelta(hours=2), NOW)
        row = conn.execute("SELECT samples, cpu_max FROM heartbeat_hourly").fetchone()
        assert row == (5, 5.0)
        maintenance.refresh_rollups(conn, NOW - timedelta(hours=2), NOW)  # idempotent
        assert conn.execute("SELECT count(*) FROM heartbeat_hourly").fetchone() == (1,)


def test_retention_never_drops_data_younger_than_190_days(plain: str) -> None:
    with psycopg.connect(plain, autocommit=True) as conn:
        store(
            conn,
            m.heartbeat(seq=1, at=NOW - timedelta(days=189)),
            m.heartbeat(seq=2, at=NOW - timedelta(days=191)),
        )
        deleted = maintenance.apply_retention(conn, NOW)
        assert deleted["telemetry_heartbeat"] == 1
        kept = conn.execute("SELECT seq FROM telemetry_heartbeat").fetchall()
        assert kept == [(1,)]
        with pytest.raises(ValueError, match="at least 190 days"):
            maintenance.apply_retention(conn, NOW, raw_days=30)
