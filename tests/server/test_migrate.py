"""Migrations: applied in order, recorded, idempotent, variant-aware."""

from __future__ import annotations

import psycopg
import pytest

from fleet_server.db.migrate import load_migrations, migrate, storage_variant
from fleet_server.errors import MigrationError
from tests.support.postgres import DatabaseFactory, with_dbname


@pytest.fixture
def empty_db(db_factory: DatabaseFactory) -> str:
    name = "fleet_empty_migrate"
    with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_dbname(db_factory.admin_url, name)


def test_migrations_apply_in_order_and_twice_is_a_no_op(empty_db: str) -> None:
    names = [f"{m.version:04d}_{m.name}" for m in load_migrations()]
    assert names == sorted(names)
    assert migrate(empty_db) == names
    assert migrate(empty_db) == []
    with psycopg.connect(empty_db) as conn:
        recorded = [
            r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")
        ]
        assert recorded == [m.version for m in load_migrations()]
        assert storage_variant(conn) in ("plain", "timescale")


def test_plain_variant_can_be_forced(empty_db: str) -> None:
    migrate(empty_db, timescale=False)
    with psycopg.connect(empty_db) as conn:
        assert storage_variant(conn) == "plain"
        kinds: dict[str, str] = dict(
            conn.execute(
                "SELECT c.relname, c.relkind FROM pg_class c"
                " WHERE c.relname IN ('heartbeat_hourly', 'telemetry_heartbeat')"
            ).fetchall()
        )
        assert kinds == {"heartbeat_hourly": "r", "telemetry_heartbeat": "r"}


def test_changed_migration_is_refused(empty_db: str) -> None:
    migrate(empty_db)
    with psycopg.connect(empty_db, autocommit=True) as conn:
        conn.execute("UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        migrate(empty_db)


def test_timescale_variant_makes_hypertables_and_policies(empty_db: str, timescale: None) -> None:
    migrate(empty_db)
    with psycopg.connect(empty_db) as conn:
        assert storage_variant(conn) == "timescale"
        hypertables = {
            r[0]
            for r in conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables")
        }
        assert {
            "telemetry_heartbeat",
            "telemetry_power",
            "telemetry_network",
            "telemetry_camera",
            "telemetry_display",
        } <= hypertables
        caggs = {
            r[0]
            for r in conn.execute(
                "SELECT view_name FROM timescaledb_information.continuous_aggregates"
            )
        }
        assert {
            "heartbeat_hourly",
            "power_hourly",
            "network_hourly",
            "camera_hourly",
            "display_hourly",
        } == caggs
        retention: dict[str, str] = dict(
            conn.execute(
                "SELECT hypertable_name, config->>'drop_after' FROM timescaledb_information.jobs"
                " WHERE proc_name = 'policy_retention'"
            ).fetchall()
        )
        assert retention["telemetry_heartbeat"] == "190 days"
