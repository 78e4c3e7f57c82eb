"""The application's database role (docs/deployment.md "Database roles").

Two roles: the *owner* owns the schema and runs ``fleet-server migrate``
(``FLEET_DATABASE_OWNER_URL``); the *application* role, named by the user of
``FLEET_DATABASE_URL``, is what ingest, engine and api connect as. It is
neither owner nor superuser: it may read and write rows, never change a
table, a trigger or a function, and on ``audit_log`` it may only INSERT and
SELECT. ``migrate`` creates it when missing and (re)grants its privileges at
the end of every run, so tables added by later migrations are covered; the
owner's default privileges cover tables created in between.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql

from fleet_server.errors import MigrationError

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]

#: What the application may do on every table unless listed in TABLE_PRIVILEGES.
#: Never TRUNCATE, REFERENCES or TRIGGER.
DEFAULT_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE")

#: Tables that need less: the audit log is append-only for the application;
#: the migration history and the audit chain's head are the owner's, and so
#: is the Grafana readers' scope (``dashboards roles``): a compromised service
#: must not widen what a Grafana reader sees.
TABLE_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "audit_log": ("SELECT", "INSERT"),
    "audit_chain_head": ("SELECT",),
    "schema_migrations": ("SELECT",),
    "grafana_readers": ("SELECT",),
}


def url_user(url: str) -> tuple[str | None, str | None]:
    """The user name and password in a ``postgresql://`` URL (None when absent)."""
    parts = urlsplit(url)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return user, password


def ensure_app_role(conn: Conn, role: str, password: str | None) -> None:
    """Create the application's login role when it does not exist; refuse one
    that is a superuser or is the connected owner itself."""
    row = conn.execute(
        "SELECT rolsuper, rolname = current_user FROM pg_roles WHERE rolname = %s", (role,)
    ).fetchone()
    if row is None:
        log.info("creating the application role %s", role)
        statement = sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE").format(
            sql.Identifier(role)
        )
        if password:
            statement = sql.SQL("{} PASSWORD {}").format(statement, sql.Literal(password))
        try:
            conn.execute(statement)
        except psycopg.errors.DuplicateObject:
            pass  # created meanwhile by a migrate on another database of the server
        except psycopg.Error as exc:
            raise MigrationError(f"cannot create the application role {role!r}: {exc}") from exc
        return
    if row[1]:
        raise MigrationError(
            f"the application role {role!r} is the owner that runs migrations: give"
            " FLEET_DATABASE_URL a role of its own (docs/deployment.md)"
        )
    if row[0]:
        raise MigrationError(
            f"the application role {role!r} is a superuser: it could rewrite the audit"
            " log; give FLEET_DATABASE_URL an ordinary role (docs/deployment.md)"
        )


def grant_app_role(conn: Conn, role: str, *, timescale: bool = False) -> None:
    """Grant ``role`` exactly what the application needs in schema public.

    Idempotent; run at the end of every migrate, in one transaction."""
    app = sql.Identifier(role)
    default = sql.SQL(", ").join(sql.SQL(p) for p in DEFAULT_TABLE_PRIVILEGES)
    with conn.transaction():
        # Nobody but the owner creates objects in public (PostgreSQL 15's
        # default, made explicit for older servers): a role that could would
        # shadow functions the SECURITY DEFINER trigger calls.
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(app))
        conn.execute(sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(app))
        conn.execute(sql.SQL("GRANT {} ON ALL TABLES IN SCHEMA public TO {}").format(default, app))
        conn.execute(
            sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(app)
        )
        for table, privileges in TABLE_PRIVILEGES.items():
            exists = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
            if not exists or not exists[0]:
                continue
            conn.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(table), app))
            conn.execute(
                sql.SQL("GRANT {} ON {} TO {}").format(
                    sql.SQL(", ").join(sql.SQL(p) for p in privileges),
                    sql.Identifier(table),
                    app,
                )
            )
        # Tables a later migration creates, until the next regrant at its end.
        conn.execute(
            sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT {} ON TABLES TO {}").format(
                default, app
            )
        )
        conn.execute(
            sql.SQL(
                "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {}"
            ).format(app)
        )
        if timescale:
            _grant_timescale(conn, app)


def _grant_timescale(conn: Conn, app: sql.Identifier) -> None:
    """TimescaleDB: a GRANT on a hypertable reaches its chunks, and one on a
    continuous aggregate's view is enough to read it; the materialisation
    hypertables behind the aggregates get SELECT too, for tools (pg_dump,
    EXPLAIN) that read them directly."""
    rows = conn.execute(
        "SELECT format('%I.%I', materialization_hypertable_schema,"
        "              materialization_hypertable_name)"
        "  FROM timescaledb_information.continuous_aggregates"
        " WHERE view_schema = 'public'"
    ).fetchall()
    for (name,) in rows:
        conn.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.SQL(name), app))
