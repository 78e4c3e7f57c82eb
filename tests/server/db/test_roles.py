"""The application's database role: what it may do, and above all what it may
not do to the audit log (docs/deployment.md "Database roles")."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from psycopg import sql

from fleet_server.access.audit import record as audit
from fleet_server.access.principal import Actor
from fleet_server.db.migrate import migrate
from fleet_server.errors import MigrationError
from fleet_server.users.audit_chain import verify
from tests.support.postgres import APP_ROLE, DatabaseFactory, with_dbname, with_user

Conn = psycopg.Connection[Any]

#: Every way the application's credentials could try to change or remove an
#: audit row, or switch off what protects it.
TAMPERING = [
    "UPDATE audit_log SET actor = 'someone.else'",
    "DELETE FROM audit_log",
    "TRUNCATE audit_log",
    "ALTER TABLE audit_log DISABLE TRIGGER USER",
    "ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_change",
    "SET session_replication_role = replica",
    "DROP TRIGGER audit_log_no_change ON audit_log",
    "DROP TRIGGER audit_log_chain ON audit_log",
    "DROP TABLE audit_log",
    "DROP TABLE audit_log CASCADE",
    "ALTER TABLE audit_log RENAME TO audit_log_old",
    "ALTER TABLE audit_log DROP COLUMN actor",
    f"ALTER TABLE audit_log OWNER TO {APP_ROLE}",
    "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END; $$",
    "CREATE OR REPLACE FUNCTION audit_log_chain() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END; $$",
    "UPDATE audit_chain_head SET last_seq = 0",
    "DELETE FROM audit_chain_head",
    "CREATE FUNCTION public.sha256(text) RETURNS text LANGUAGE sql AS $$ SELECT '' $$",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    f"SET ROLE {'postgres'}",
]


@pytest.mark.parametrize("statement", TAMPERING)
def test_the_application_role_cannot_change_the_audit_log(db: Conn, statement: str) -> None:
    audit(db, Actor("an.nguyen", address="127.0.0.1"), "login")
    audit(db, "binh.tran", "user.create", after={"username": "c.d"})
    before = db.execute("SELECT * FROM audit_log ORDER BY id").fetchall()
    assert db.execute("SELECT current_user").fetchone() == (APP_ROLE,)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(statement)
    assert db.execute("SELECT * FROM audit_log ORDER BY id").fetchall() == before
    assert verify(db).intact


def test_the_application_role_is_neither_owner_nor_superuser(db: Conn) -> None:
    row = db.execute(
        "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolbypassrls"
        "  FROM pg_roles r WHERE r.rolname = current_user"
    ).fetchone()
    assert row == (False, False, False, False)
    owned = db.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
    ).fetchone()
    assert owned == (0,)
    # Privileges per table: audit_log append-only, no TRUNCATE anywhere.
    grants = dict(
        db.execute(
            "SELECT table_name, string_agg(privilege_type, ',' ORDER BY privilege_type)"
            "  FROM information_schema.role_table_grants"
            " WHERE grantee = current_user AND table_schema = 'public' GROUP BY table_name"
        ).fetchall()
    )
    assert grants["audit_log"] == "INSERT,SELECT"
    assert grants["schema_migrations"] == "SELECT"
    assert grants["grafana_readers"] == "SELECT"  # a service cannot widen a Grafana reader
    assert grants["boards"] == "DELETE,INSERT,SELECT,UPDATE"
    assert not [t for t, p in grants.items() if {"TRUNCATE", "TRIGGER"} & set(p.split(","))]


def test_the_application_role_works_with_rows(db: Conn) -> None:
    db.execute("INSERT INTO organisations (code, name) VALUES ('stttt', 'Sở TT&TT')")
    db.execute("UPDATE organisations SET name = 'Sở KH&CN'")
    db.execute("DELETE FROM organisations")


def test_tables_of_later_migrations_are_granted(
    db_owner_url: str, db_owner: Conn, db: Conn
) -> None:
    # Default privileges: a table the owner creates later is the application's too...
    db_owner.execute("CREATE TABLE later_table (x int)")
    db.execute("INSERT INTO later_table VALUES (1)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("TRUNCATE later_table")
    # ...and every migrate run regrants (idempotent).
    migrate(db_owner_url, app_role=APP_ROLE)
    migrate(db_owner_url, app_role=APP_ROLE)
    db.execute("INSERT INTO later_table VALUES (2)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute("UPDATE audit_log SET actor = 'x'")


def test_migrate_creates_the_role_and_refuses_a_superuser(db_factory: DatabaseFactory) -> None:
    name = f"fleet_roles_{id(db_factory) % 10_000}"
    role = f"app_{name}"
    with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    owner_url = with_dbname(db_factory.admin_url, name)
    try:
        migrate(owner_url, app_role=role, app_password="app-pw")
        with psycopg.connect(with_user(owner_url, role, "app-pw"), autocommit=True) as conn:
            audit(conn, "an.nguyen", "login")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute("DELETE FROM audit_log")
        admin_user = psycopg.conninfo.conninfo_to_dict(db_factory.admin_url).get("user")
        with pytest.raises(MigrationError, match="is the owner that runs migrations"):
            migrate(owner_url, app_role=str(admin_user))
        with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("ALTER ROLE {} SUPERUSER").format(sql.Identifier(role)))
        with pytest.raises(MigrationError, match="is a superuser"):
            migrate(owner_url, app_role=role)
    finally:
        with psycopg.connect(db_factory.admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
