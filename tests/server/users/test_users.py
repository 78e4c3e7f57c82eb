"""Accounts and the audit log: no default password, Argon2 hashes, an
append-only audit trail."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.access.audit import record
from fleet_server.access.principal import Actor
from fleet_server.users.models import UserError
from fleet_server.users.passwords import WeakPassword, hash_password, verify_password
from fleet_server.users.service import create_account

REPO = Path(__file__).resolve().parents[3]
Conn = psycopg.Connection[Any]
GOOD = "Lai-Chau-2026-bang-tin"


def create_admin(db_url: str, username: str, password: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, FLEET_DATABASE_URL=db_url)
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "fleet_server.cli",
            "users",
            "create-admin",
            username,
            "--full-name",
            "Nguyễn Văn An",
        ],
        input=password + "\n",
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=60,
        check=False,
    )


def test_create_admin_from_the_command_line(db_url: str, db: Conn) -> None:
    done = create_admin(db_url, "an.nguyen", GOOD)
    assert done.returncode == 0, done.stderr
    row = db.execute(
        "SELECT role, password_hash FROM users WHERE username = 'an.nguyen'"
    ).fetchone()
    assert row is not None
    assert row[0] == "admin"
    assert row[1].startswith("$argon2id$")
    assert GOOD not in row[1]
    assert verify_password(row[1], GOOD)
    assert not verify_password(row[1], GOOD + "x")
    logged = db.execute("SELECT actor, action, after->>'username' FROM audit_log").fetchall()
    assert logged == [("system:create-admin", "user.create", "an.nguyen")]


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 12"),
        ("an.nguyen-2026-xyz", "user name"),
        ("aaaaaaaaaaaaaaa", "different"),
    ],
)
def test_weak_passwords_are_refused(db_url: str, db: Conn, password: str, reason: str) -> None:
    done = create_admin(db_url, "an.nguyen", password)
    assert done.returncode == 2
    assert reason in done.stderr
    assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)


def test_duplicate_and_invalid_users(db: Conn) -> None:
    create_account(
        db, username="tech.binh", full_name="Binh", role="technician", password=GOOD, actor="test"
    )
    with pytest.raises(UserError, match="already exists"):
        create_account(
            db, username="tech.binh", full_name="B", role="viewer", password=GOOD, actor="test"
        )
    with pytest.raises(UserError, match="unknown role"):
        create_account(db, username="x.y", full_name="X", role="root", password=GOOD, actor="test")
    with pytest.raises(UserError, match="invalid user"):
        create_account(
            db, username="Bad Name!", full_name="X", role="viewer", password=GOOD, actor="test"
        )
    with pytest.raises(WeakPassword):
        create_account(
            db, username="c.d", full_name="C", role="viewer", password="123", actor="test"
        )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_log SET actor = 'someone-else'",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    ],
)
def test_audit_log_is_append_only(db: Conn, db_owner: Conn, statement: str) -> None:
    record(db, Actor("an.nguyen", address="127.0.0.1"), "login")
    # The application role has no such privilege; even the owner meets the trigger.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(statement)
    with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
        db_owner.execute(statement)
    assert db.execute("SELECT actor FROM audit_log").fetchall() == [("an.nguyen",)]


def test_hashes_are_salted() -> None:
    assert hash_password(GOOD) != hash_password(GOOD)
