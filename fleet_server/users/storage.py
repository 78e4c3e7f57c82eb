"""Users and the audit log in PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from fleet_server.users.passwords import check_strength, hash_password

Conn = psycopg.Connection[Any]
ROLES = ("admin", "operator", "technician", "border_guard", "viewer")


class UserError(ValueError):
    """A user change that cannot be made, with the reason."""


def audit(
    conn: Conn,
    actor: str,
    action: str,
    *,
    target_type: str | None = None,
    target_id: str | None = None,
    address: str | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str | None = None,
    actor_user_id: int | None = None,
) -> None:
    conn.execute(
        "INSERT INTO audit_log (actor, actor_user_id, action, target_type, target_id,"
        " address, before, after, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            actor,
            actor_user_id,
            action,
            target_type,
            target_id,
            address,
            None if before is None else json.dumps(before),
            None if after is None else json.dumps(after),
            detail,
        ),
    )


def create_user(
    conn: Conn,
    *,
    username: str,
    full_name: str,
    role: str,
    password: str,
    actor: str,
    email: str | None = None,
    organisation_id: int | None = None,
) -> int:
    """Create a personal account (and its audit row) in one transaction."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    check_strength(password, username)
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO users (username, full_name, email, role, organisation_id,"
                " password_hash) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
                (username, full_name, email, role, organisation_id, hash_password(password)),
            ).fetchone()
            assert row is not None
            audit(
                conn,
                actor,
                "user.create",
                target_type="user",
                target_id=str(row[0]),
                after={
                    "username": username,
                    "role": role,
                    "full_name": full_name,
                    "organisation_id": organisation_id,
                },
            )
    except psycopg.errors.UniqueViolation:
        raise UserError(f"a user named {username!r} already exists") from None
    except psycopg.errors.CheckViolation as exc:
        raise UserError(f"invalid user: {exc.diag.constraint_name}") from None
    return int(row[0])
