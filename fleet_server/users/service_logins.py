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
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal, NoReturn

from fleet_server.access.audit import record
from fleet_server.access.principal import Actor, Principal
from fleet_server.access.roles import CAPABILITIES, is_province_wide
from fleet_server.users import storage_logins as storage
from fleet_server.users.models import Issued, LoginPolicy, LoginRefused
from fleet_server.users.passwords import hash_password, verify_password
from fleet_server.users.storage_logins import Conn


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so a wrong username
    costs the same time as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


def _refuse(
    conn: Conn,
    username: str,
    address: str | None,
    *,
    why: str,
    message: str,
    window: timedelta,
    now: datetime,
) -> NoReturn:
    """Audit a refused attempt (it counts as a failure too) and refuse it."""
    record(
        conn,
        Actor(username or "?", address=address),
        "login_failed",
        target_type="user",
        target_id=username,
        detail=why,
        at=now,  # the limits count these rows against the same clock
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
    recent = storage.address_failures(conn, address, now - policy.address_window)
    if recent >= policy.address_failures:
        _refuse(
            conn,
            username,
            address,
            why="rate limited: too many failed logins from this address",
            message="too many failed logins from this address; try again later",
            window=policy.address_window,
            now=now,
        )
    # Before the user is looked up: the same for a name that does not exist.
    failures = storage.pair_failures(conn, username, address, now - policy.lockout)
    if failures >= policy.lockout_failures:
        _refuse(
            conn,
            username,
            address,
            why="locked: too many failed logins for this user name from this address",
            message="too many failed logins for this user name from this address; try again later",
            window=policy.lockout,
            now=now,
        )
    account = storage.account_for_login(conn, username)
    if account is None:
        verify_password(_dummy_hash(), password)
        record(
            conn,
            Actor(username or "?", address=address),
            "login_failed",
            target_type="user",
            target_id=username,
            detail="unknown user",
            at=now,
        )
        raise LoginRefused(401, "invalid username or password")
    user_id = account.user_id
    if not verify_password(account.password_hash, password) or not account.active:
        storage.count_failure(conn, user_id)
        record(
            conn,
            Actor(username, user_id=user_id, address=address),
            "login_failed",
            target_type="user",
            target_id=user_id,
            detail="account disabled" if not account.active else "wrong password",
            at=now,
        )
        failures = storage.pair_failures(conn, username, address, now - policy.lockout)
        if failures >= policy.lockout_failures:
            # Shown to administrators (some address is locked out of this
            # account); the refusal itself is per address, above.
            storage.lock_until(conn, user_id, now + policy.lockout)
        raise LoginRefused(401, "invalid username or password")
    storage.clear_failures(conn, user_id)
    return user_id


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
    record(
        conn,
        Actor(username.strip().lower(), user_id=user_id, address=address),
        "login",
        target_type="user",
        target_id=user_id,
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
    token_id = storage.insert_token(
        conn, token, user_id, kind, csrf_token=csrf, address=address, now=now, expires_at=expires
    )
    return Issued(token=token, token_id=token_id, expires_at=expires, csrf_token=csrf)


def logout(
    conn: Conn, principal: Principal, actor: Actor, now: datetime, *, detail: str | None = None
) -> None:
    """Revoke the token or session in use, and audit it."""
    storage.revoke(conn, principal.token_id, now)
    record(
        conn,
        actor,
        "logout",
        target_type="user",
        target_id=principal.user_id,
        detail=detail,
    )


def revoke(conn: Conn, token_id: int, now: datetime) -> None:
    storage.revoke(conn, token_id, now)


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
    live = storage.live_token(conn, token, kind, now=now)
    if live is None:
        return None
    if kind == "session":
        if live.last_used_at + policy.session_idle <= now:
            return None
        # Sliding idle timeout, written at most once a minute.
        if now - live.last_used_at > timedelta(minutes=1):
            storage.touch_token(conn, live.token_id, now)
    return Principal(
        user_id=live.user_id,
        username=live.username,
        full_name=live.full_name,
        role=live.role,
        organisation_id=live.organisation_id,
        team=live.team,
        language=live.language,
        site_ids=live.site_ids,
        province_wide=is_province_wide(live.role, provincial_department=live.provincial_department),
        via=kind,
        token_id=live.token_id,
        csrf_token=live.csrf_token,
        capabilities=CAPABILITIES.get(live.role, frozenset()),
    )
