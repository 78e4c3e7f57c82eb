"""Rollups and retention on plain PostgreSQL (the engine's upkeep)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from fleet_server.db.migrate import load_migrations, migrate
from fleet_server.telemetry import storage_upkeep as upkeep
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
        assert upkeep.is_plain(conn)
        store(
            conn,
            *(
                m.heartbeat(seq=i, at=NOW - timedelta(minutes=i), cpu_percent=float(i))
                for i in range(1, 6)
            ),
        )
        upkeep.refresh_rollups(conn, NOW - timedelta(hours=2), NOW)
        row = conn.execute("SELECT samples, cpu_max FROM heartbeat_hourly").fetchone()
        assert row == (5, 5.0)
        upkeep.refresh_rollups(conn, NOW - timedelta(hours=2), NOW)  # idempotent
        assert conn.execute("SELECT count(*) FROM heartbeat_hourly").fetchone() == (1,)


def test_retention_never_drops_data_younger_than_190_days(plain: str) -> None:
    with psycopg.connect(plain, autocommit=True) as conn:
        store(
            conn,
            m.heartbeat(seq=1, at=NOW - timedelta(days=189)),
            m.heartbeat(seq=2, at=NOW - timedelta(days=191)),
        )
        deleted = upkeep.apply_retention(conn, NOW)
        assert deleted["telemetry_heartbeat"] == 1
        kept = conn.execute("SELECT seq FROM telemetry_heartbeat").fetchall()
        assert kept == [(1,)]
        with pytest.raises(ValueError, match="at least 190 days"):
            upkeep.apply_retention(conn, NOW, raw_days=30)


def _envelope(seq: int, at: datetime) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "device_id": "lc-mlt-01",
        "boot": 1,
        "seq": seq,
        "measured_at": at,
        "sent_at": at,
    }


def _every_kind(seq: int, at: datetime) -> list[tuple[str, bytes]]:
    """One message of each raw telemetry kind, measured at ``at``."""
    import fleet_protocol as fp  # noqa: PLC0415

    network = fp.NetworkMessage(**_envelope(seq, at), data=fp.NetworkData(link_up=True))
    display = fp.DisplayMessage(**_envelope(seq, at), data=fp.DisplayData(player_running=True))
    return [
        m.heartbeat(seq=seq, at=at),
        m.power(seq=seq, at=at),
        m.camera(seq=seq, at=at, cameras=1),
        (fp.telemetry_topic("lc-mlt-01", "network"), fp.encode(network)),
        (fp.telemetry_topic("lc-mlt-01", "display"), fp.encode(display)),
    ]


def test_retention_keeps_189_days_and_drops_191_in_every_raw_table(plain: str) -> None:
    with psycopg.connect(plain, autocommit=True) as conn:
        store(
            conn,
            *_every_kind(1, NOW - timedelta(days=189)),
            *_every_kind(2, NOW - timedelta(days=191)),
        )
        deleted = upkeep.apply_retention(conn, NOW)
        for table in upkeep.RAW_TABLES:
            assert deleted[table] == 1, table
            kept = conn.execute(f"SELECT seq FROM {table}").fetchall()
            assert kept == [(1,)], table


def test_a_longer_retention_keeps_more_never_less(plain: str) -> None:
    with psycopg.connect(plain, autocommit=True) as conn:
        store(conn, *_every_kind(1, NOW - timedelta(days=191)))
        deleted = upkeep.apply_retention(conn, NOW, raw_days=365)
        assert not any(deleted[t] for t in upkeep.RAW_TABLES)
        with pytest.raises(ValueError, match="at least 190 days"):
            upkeep.apply_retention(conn, NOW, raw_days=189)
        assert conn.execute("SELECT count(*) FROM telemetry_heartbeat").fetchone() == (1,)


def test_timescaledb_retention_policies_are_never_under_190_days() -> None:
    """The TimescaleDB variant drops chunks with its own policies: none of
    them may be shorter for raw telemetry than the plain variant's floor."""
    policies = [
        int(days)
        for migration in load_migrations()
        if "timescale" in migration.sql
        for days in re.findall(
            r"add_retention_policy\(t, INTERVAL '(\d+) days'", migration.sql["timescale"]
        )
    ]
    assert policies
    assert min(policies) >= upkeep.MIN_RAW_DAYS
