"""Accounts and logins as the domain sees them: the login policy, the
refusals, an issued token, and the rules an account's fields meet.

No IO here: the SQL is in ``storage`` (accounts) and ``storage_logins``
(failed-login counts, tokens and sessions); the operations in ``service``
and ``service_logins``."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from fleet_server.access.roles import ROLES, Role
from fleet_server.errors import Invalid, RequestError

__all__ = [
    "EMAIL_RE",
    "MAX_ID",
    "NO_NUL",
    "ROLES",
    "USERNAME",
    "Issued",
    "LoginPolicy",
    "LoginRefused",
    "Role",
    "UserError",
    "WrongPassword",
    "check_email",
    "invalid_field",
    "token_hash",
]

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
USERNAME = r"^[a-z0-9][a-z0-9._-]{2,63}$"
EMAIL_RE = re.compile(r"^[^@\s\x00]+@[^@\s\x00]+\.[^@\s\x00]+$")


class UserError(Invalid):
    """A user change that cannot be made, with the reason (the command line's
    ``create-admin``)."""


class WrongPassword(Invalid):
    """The current password given to change one's own password is wrong."""

    kind = "wrong-password"


class LoginRefused(RequestError):
    """A refused login: ``status`` 401 (bad credentials) or 429 (locked /
    rate limited, with ``retry_after`` seconds)."""

    def __init__(self, status: int, detail: str, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.kind = "login-rate-limited" if status == 429 else "login-failed"
        self.retry_after = retry_after
        #: HTTP headers of the answer (the API sends them with the problem).
        self.headers = {"Retry-After": str(retry_after)} if retry_after else None


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    lockout_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    address_failures: int = 20
    address_window: timedelta = timedelta(minutes=15)
    token_ttl: timedelta = timedelta(minutes=15)
    session_ttl: timedelta = timedelta(hours=8)
    session_idle: timedelta = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Issued:
    token: str
    token_id: int
    expires_at: datetime
    csrf_token: str | None


def token_hash(token: str) -> bytes:
    """What is stored of a token: its SHA-256, never the token."""
    return hashlib.sha256(token.encode()).digest()


def check_email(value: str | None) -> str | None:
    """An e-mail address, trimmed; ValueError (for pydantic) if it is not one."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise ValueError("not an e-mail address (name@domain.tld)")
    return value


def invalid_field(field: str, message: str, cls: type[Invalid] = Invalid) -> Invalid:
    """A refusal naming ``field``: detail ``"<field>: <message>"`` and the
    field listed under ``errors``."""
    return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])
