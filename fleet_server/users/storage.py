"""SQL of accounts: the users table and the sites given to an account one by
one (user_sites). Logins, tokens and sessions are in ``storage_logins``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, add_equal, add_search, fetch_page
from fleet_server.errors import Conflict
from fleet_server.users.models import UserError
from fleet_server.users.schemas import UserOut

Conn = psycopg.Connection[Any]

_SELECT = """
    SELECT u.id, u.username, u.full_name, u.email, u.role, u.organisation_id, u.team,
           u.language, u.active,
           coalesce((SELECT array_agg(us.site_id ORDER BY us.site_id) FROM user_sites us
                      WHERE us.user_id = u.id), '{}') AS site_ids,
           u.failed_logins, u.locked_until,
           coalesce(u.locked_until > %s, false) AS locked,
           u.password_changed_at, u.created_at, u.updated_at
    FROM users u
"""

#: The columns a change may name (the fields of ``UserPatch`` but ``site_ids``).
CHANGEABLE = frozenset(
    {"full_name", "email", "role", "organisation_id", "team", "language", "active"}
)


def list_users(
    conn: Conn,
    paging: ListParams,
    *,
    now: datetime,
    role: str | None = None,
    organisation_id: int | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> Page[UserOut]:
    where = ["TRUE"]
    params: list[Any] = [now]
    add_equal(where, params, (("u.role", role), ("u.organisation_id", organisation_id)))
    if active is not None:
        where.append("u.active = %s")
        params.append(active)
    add_search(where, params, q, ("u.username", "u.full_name", "u.email"))
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "username", "full_name", "role", "created_at", "updated_at"),
        default="username",
        tiebreak="id",
        model=UserOut,
    )


def get_user(conn: Conn, user_id: int, *, now: datetime, lock: bool = False) -> UserOut | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE u.id = %s{' FOR UPDATE OF u' if lock else ''}", (now, user_id)
        ).fetchone()
    return None if row is None else UserOut.model_validate(row)


def organisation_exists(conn: Conn, organisation_id: int) -> bool:
    return (
        conn.execute("SELECT 1 FROM organisations WHERE id = %s", (organisation_id,)).fetchone()
        is not None
    )


def missing_sites(conn: Conn, site_ids: list[int]) -> list[int]:
    """Those of ``site_ids`` that name no site, in order."""
    known = {
        int(r[0]) for r in conn.execute("SELECT id FROM sites WHERE id = ANY(%s)", (site_ids,))
    }
    return sorted(set(site_ids) - known)


def insert_user(
    conn: Conn,
    *,
    username: str,
    full_name: str,
    email: str | None,
    role: str,
    organisation_id: int | None,
    team: str | None,
    language: str,
    password_hash: str,
    now: datetime,
) -> int:
    """A new account's id; :class:`Conflict` if the name is taken."""
    try:
        with conn.transaction():
            row = conn.execute(
                "INSERT INTO users (username, full_name, email, role, organisation_id, team,"
                " language, password_hash, password_changed_at, created_at, updated_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (
                    username,
                    full_name,
                    email,
                    role,
                    organisation_id,
                    team,
                    language,
                    password_hash,
                    now,
                    now,
                    now,
                ),
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Conflict(f"a user named {username!r} already exists") from None
    assert row is not None
    return int(row[0])


def insert_account(
    conn: Conn,
    *,
    username: str,
    full_name: str,
    email: str | None,
    role: str,
    organisation_id: int | None,
    password_hash: str,
) -> int:
    """The command line's account (the database's defaults for the rest);
    :class:`UserError` if the name is taken or a check refuses it."""
    try:
        row = conn.execute(
            "INSERT INTO users (username, full_name, email, role, organisation_id,"
            " password_hash) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (username, full_name, email, role, organisation_id, password_hash),
        ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise UserError(f"a user named {username!r} already exists") from None
    except psycopg.errors.CheckViolation as exc:
        raise UserError(f"invalid user: {exc.diag.constraint_name}") from None
    assert row is not None
    return int(row[0])


def set_sites(conn: Conn, user_id: int, site_ids: list[int]) -> None:
    conn.execute("DELETE FROM user_sites WHERE user_id = %s", (user_id,))
    if site_ids:
        conn.execute(
            "INSERT INTO user_sites (user_id, site_id) SELECT %s, unnest(%s::bigint[])",
            (user_id, sorted(set(site_ids))),
        )


def update_user(conn: Conn, user_id: int, changes: Mapping[str, Any], *, now: datetime) -> None:
    """Set the columns named in ``changes`` (of :data:`CHANGEABLE`)."""
    unknown = set(changes) - CHANGEABLE
    if unknown:
        raise ValueError(f"not a changeable column: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = %s" for column in changes)
    conn.execute(
        f"UPDATE users SET {assignments}, updated_at = %s WHERE id = %s",
        [*changes.values(), now, user_id],
    )


def password_hash(conn: Conn, user_id: int) -> str | None:
    row = conn.execute("SELECT password_hash FROM users WHERE id = %s", (user_id,)).fetchone()
    return None if row is None else str(row[0])


def set_password(conn: Conn, user_id: int, password_hash: str, *, now: datetime) -> None:
    """A password the holder chose."""
    conn.execute(
        "UPDATE users SET password_hash = %s, password_changed_at = %s, updated_at = %s"
        " WHERE id = %s",
        (password_hash, now, now, user_id),
    )


def reset_password(conn: Conn, user_id: int, password_hash: str, *, now: datetime) -> None:
    """A password an admin set: it also lifts a lock-out."""
    conn.execute(
        "UPDATE users SET password_hash = %s, password_changed_at = %s, failed_logins = 0,"
        " locked_until = NULL, updated_at = %s WHERE id = %s",
        (password_hash, now, now, user_id),
    )


def unlock(conn: Conn, user_id: int, *, now: datetime) -> None:
    conn.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, updated_at = %s WHERE id = %s",
        (now, user_id),
    )
