"""SQL of logging in: failed logins (counted from the audit log), the
account a login names, and bearer tokens and console sessions (api_tokens,
which hold only the SHA-256 of each secret)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

from fleet_server.users.models import token_hash

Conn = psycopg.Connection[Any]


def address_failures(conn: Conn, address: str | None, since: datetime) -> int:
    if address is None:
        return 0
    row = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'login_failed' AND address = %s AND at > %s",
        (address, since),
    ).fetchone()
    return int(row[0]) if row else 0


def pair_failures(conn: Conn, username: str, address: str | None, since: datetime) -> int:
    """Failed logins as ``username`` from ``address`` since ``since`` and since
    an administrator last lifted the lock or reset the password."""
    # Equality (not IS NOT DISTINCT FROM, which cannot bound an index scan):
    # migration 0022's index then answers from (actor, address, at).
    same_address = "address IS NULL" if address is None else "address = %(address)s"
    row = conn.execute(
        f"""SELECT count(*) FROM audit_log
            WHERE action = 'login_failed' AND actor = %(name)s
              AND {same_address} AND at > %(since)s
              AND at > coalesce((SELECT max(a.at) FROM audit_log a JOIN users u
                                   ON a.target_type = 'user' AND a.target_id = u.id::text
                                  WHERE u.username = %(name)s
                                    AND a.action IN ('user.unlock', 'user.password_reset')),
                                '-infinity')""",
        {"name": username, "address": address, "since": since},
    ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True, slots=True)
class LoginAccount:
    user_id: int
    password_hash: str
    active: bool


def account_for_login(conn: Conn, username: str) -> LoginAccount | None:
    """The account named ``username``, locked for this transaction."""
    row = conn.execute(
        "SELECT id, password_hash, active FROM users WHERE username = %s FOR UPDATE",
        (username,),
    ).fetchone()
    if row is None:
        return None
    return LoginAccount(user_id=int(row[0]), password_hash=str(row[1]), active=bool(row[2]))


def count_failure(conn: Conn, user_id: int) -> None:
    conn.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = %s", (user_id,))


def lock_until(conn: Conn, user_id: int, until: datetime) -> None:
    conn.execute("UPDATE users SET locked_until = %s WHERE id = %s", (until, user_id))


def clear_failures(conn: Conn, user_id: int) -> None:
    conn.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = %s", (user_id,)
    )


def insert_token(
    conn: Conn,
    token: str,
    user_id: int,
    kind: Literal["bearer", "session"],
    *,
    csrf_token: str | None,
    address: str | None,
    now: datetime,
    expires_at: datetime,
) -> int:
    row = conn.execute(
        "INSERT INTO api_tokens (token_hash, user_id, kind, csrf_token, address, created_at,"
        " expires_at, last_used_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (token_hash(token), user_id, kind, csrf_token, address, now, expires_at, now),
    ).fetchone()
    assert row is not None
    return int(row[0])


def revoke(conn: Conn, token_id: int, now: datetime) -> None:
    conn.execute(
        "UPDATE api_tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
        (now, token_id),
    )


def revoke_all(conn: Conn, user_id: int, now: datetime, *, keep: int | None = None) -> None:
    conn.execute(
        "UPDATE api_tokens SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL"
        " AND id IS DISTINCT FROM %s",
        (now, user_id, keep),
    )


@dataclass(frozen=True, slots=True)
class LiveToken:
    """A live token and the account behind it."""

    token_id: int
    csrf_token: str | None
    last_used_at: datetime
    user_id: int
    username: str
    full_name: str
    role: str
    organisation_id: int | None
    team: str | None
    language: str
    #: The account belongs to the provincial department.
    provincial_department: bool
    site_ids: tuple[int, ...]


def live_token(
    conn: Conn, token: str, kind: Literal["bearer", "session"], *, now: datetime
) -> LiveToken | None:
    """The token of ``kind``, unless unknown, expired, revoked, or its account
    was disabled."""
    row = conn.execute(
        """SELECT t.id, t.csrf_token, t.last_used_at, u.id, u.username, u.full_name, u.role,
                  u.organisation_id, u.team, u.language,
                  coalesce(o.kind = 'provincial_department', false),
                  coalesce((SELECT array_agg(site_id) FROM user_sites WHERE user_id = u.id),
                           '{}')
           FROM api_tokens t JOIN users u ON u.id = t.user_id
           LEFT JOIN organisations o ON o.id = u.organisation_id
           WHERE t.token_hash = %s AND t.kind = %s AND t.revoked_at IS NULL
             AND t.expires_at > %s AND u.active""",
        (token_hash(token), kind, now),
    ).fetchone()
    if row is None:
        return None
    return LiveToken(
        token_id=int(row[0]),
        csrf_token=row[1],
        last_used_at=row[2],
        user_id=int(row[3]),
        username=str(row[4]),
        full_name=str(row[5]),
        role=str(row[6]),
        organisation_id=row[7],
        team=row[8],
        language=str(row[9]),
        provincial_department=bool(row[10]),
        site_ids=tuple(int(s) for s in row[11]),
    )


def touch_token(conn: Conn, token_id: int, now: datetime) -> None:
    conn.execute("UPDATE api_tokens SET last_used_at = %s WHERE id = %s", (now, token_id))
