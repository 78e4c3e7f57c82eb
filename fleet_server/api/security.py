"""Logins, bearer tokens and console sessions.

Secrets are random (``secrets.token_urlsafe``) and only their SHA-256 is stored.
A failed login counts against the pair (user name, address) — after
``api_lockout_failures`` within ``api_lockout_s`` that pair is refused — and
against the address (``api_address_failures`` within a window), both read from
the audit log. There is no account-wide lock: a stranger guessing the
administrator's password locks out only his own address, never the
administrator at her desk. Known and unknown user names go through the same
steps (the same answers, an Argon2 verification each), so the answers tell
nobody which names exist. Every attempt is audited with its address.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, NoReturn

import psycopg

from fleet_server.access.principal import Principal
from fleet_server.access.roles import CAPABILITIES
from fleet_server.users.passwords import hash_password, verify_password
from fleet_server.users.storage import audit

Conn = psycopg.Connection[Any]


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong username
    costs the same time as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    lockout_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    address_failures: int = 20
    address_window: timedelta = timedelta(minutes=15)
    token_ttl: timedelta = timedelta(minutes=15)
    session_ttl: timedelta = timedelta(hours=8)
    session_idle: timedelta = timedelta(hours=1)


class LoginRefused(Exception):
    """``status`` 401 (bad credentials) or 429 (locked / rate limited)."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    token_id: int
    expires_at: datetime
    csrf_token: str | None


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _address_failures(conn: Conn, address: str | None, since: datetime) -> int:
    if address is None:
        return 0
    row = conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'login_failed' AND address = %s AND at > %s",
        (address, since),
    ).fetchone()
    return int(row[0]) if row else 0


def _pair_failures(conn: Conn, username: str, address: str | None, since: datetime) -> int:
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


def _refuse(
    conn: Conn,
    username: str,
    address: str | None,
    why: str,
    message: str,
    window: timedelta,
) -> NoReturn:
    """Audit a refused attempt (it counts as a failure too) and refuse it."""
    audit(
        conn,
        username or "?",
        "login_failed",
        target_type="user",
        target_id=username,
        address=address,
        detail=why,
    )
    raise LoginRefused(429, message, retry_after=int(window.total_seconds()))


def authenticate(
    conn: Conn,
    username: str,
    password: str,
    *,
    address: str | None,
    now: datetime,
    policy: LoginPolicy,
) -> int:
    """Check a login; return the user id or raise :class:`LoginRefused`.
    Audits success and failure (the caller commits)."""
    username = username.strip().lower()
    recent = _address_failures(conn, address, now - policy.address_window)
    if recent >= policy.address_failures:
        _refuse(
            conn,
            username,
            address,
            "rate limited: too many failed logins from this address",
            "too many failed logins from this address; try again later",
            policy.address_window,
        )
    # Before the user is looked up: the same for a name that does not exist.
    if _pair_failures(conn, username, address, now - policy.lockout) >= policy.lockout_failures:
        _refuse(
            conn,
            username,
            address,
            "locked: too many failed logins for this user name from this address",
            "too many failed logins for this user name from this address; try again later",
            policy.lockout,
        )
    row = conn.execute(
        "SELECT id, password_hash, active FROM users WHERE username = %s FOR UPDATE",
        (username,),
    ).fetchone()
    if row is None:
        verify_password(_dummy_hash(), password)
        audit(
            conn,
            username or "?",
            "login_failed",
            target_type="user",
            target_id=username,
            address=address,
            detail="unknown user",
        )
        raise LoginRefused(401, "invalid username or password")
    user_id, password_hash, active = row
    if not verify_password(password_hash, password) or not active:
        conn.execute("UPDATE users SET failed_logins = failed_logins + 1 WHERE id = %s", (user_id,))
        audit(
            conn,
            username,
            "login_failed",
            actor_user_id=user_id,
            target_type="user",
            target_id=str(user_id),
            address=address,
            detail="account disabled" if not active else "wrong password",
        )
        if _pair_failures(conn, username, address, now - policy.lockout) >= policy.lockout_failures:
            # Shown to administrators (some address is locked out of this
            # account); the refusal itself is per address, above.
            conn.execute(
                "UPDATE users SET locked_until = %s WHERE id = %s", (now + policy.lockout, user_id)
            )
        raise LoginRefused(401, "invalid username or password")
    conn.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = %s", (user_id,)
    )
    return int(user_id)


def login(
    conn: Conn,
    username: str,
    password: str,
    kind: Literal["bearer", "session"],
    *,
    address: str | None,
    now: datetime,
    policy: LoginPolicy,
    detail: str,
    before_issue: Callable[[], None] | None = None,
) -> tuple[int, Issued]:
    """Authenticate, then issue a token of ``kind`` and audit the login; a
    refusal raises :class:`LoginRefused` after committing its audit row (the
    failure stays, whatever the caller answers). ``before_issue`` runs once
    the password is right (the console revokes the session it was sent)."""
    try:
        user_id = authenticate(conn, username, password, address=address, now=now, policy=policy)
    except LoginRefused:
        conn.commit()
        raise
    if before_issue is not None:
        before_issue()
    issued = issue(conn, user_id, kind, address=address, now=now, policy=policy)
    audit(
        conn,
        username.strip().lower(),
        "login",
        actor_user_id=user_id,
        target_type="user",
        target_id=str(user_id),
        address=address,
        detail=detail,
    )
    return user_id, issued


def issue(
    conn: Conn,
    user_id: int,
    kind: Literal["bearer", "session"],
    *,
    address: str | None,
    now: datetime,
    policy: LoginPolicy,
) -> Issued:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24) if kind == "session" else None
    expires = now + (policy.token_ttl if kind == "bearer" else policy.session_ttl)
    row = conn.execute(
        "INSERT INTO api_tokens (token_hash, user_id, kind, csrf_token, address, created_at,"
        " expires_at, last_used_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (token_hash(token), user_id, kind, csrf, address, now, expires, now),
    ).fetchone()
    assert row is not None
    return Issued(token=token, token_id=int(row[0]), expires_at=expires, csrf_token=csrf)


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


def resolve_token(
    conn: Conn,
    token: str,
    kind: Literal["bearer", "session"],
    *,
    now: datetime,
    policy: LoginPolicy,
) -> Principal | None:
    """The principal behind a live token, or None (unknown, expired, revoked,
    idle too long, or the account was disabled)."""
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
    token_id, csrf, last_used = row[0], row[1], row[2]
    if kind == "session":
        if last_used + policy.session_idle <= now:
            return None
        # Sliding idle timeout, written at most once a minute.
        if now - last_used > timedelta(minutes=1):
            conn.execute("UPDATE api_tokens SET last_used_at = %s WHERE id = %s", (now, token_id))
    role = str(row[6])
    return Principal(
        user_id=int(row[3]),
        username=str(row[4]),
        full_name=str(row[5]),
        role=role,
        organisation_id=row[7],
        team=row[8],
        language=str(row[9]),
        site_ids=tuple(int(s) for s in row[11]),
        province_wide=role == "admin" or (bool(row[10]) and role != "border_guard"),
        via=kind,
        token_id=int(token_id),
        csrf_token=csrf,
        capabilities=CAPABILITIES.get(role, frozenset()),
    )
