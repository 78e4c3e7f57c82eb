"""Who may read ``/metrics``: one rule for the API and the ingest/engine listeners.

The pages name organisations and sites, count incidents and boards by state
and show the processes' versions: not for whoever reaches a port. With
``FLEET_METRICS_TOKEN`` set, every request must carry ``Authorization: Bearer
<token>``, from anywhere. Without it, only this machine may read them: the
API answers a loopback peer only (a Prometheus on the same host), and the
ingest and engine listeners refuse to start on an address other hosts reach.
"""

from __future__ import annotations

import enum
import hmac
import ipaddress

from fleet_server.errors import ConfigError
from fleet_server.settings import Settings

MIN_TOKEN_LENGTH = 16
_TOKEN_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/="
)  # RFC 6750's b64token: what a header and Prometheus's credentials file carry as is
_PLACEHOLDERS = ("changeme", "change-me", "change_me", "placeholder", "example", "replace")
#: Headers a reverse proxy adds: a request carrying one came from elsewhere,
#: even when the proxy itself connects from 127.0.0.1.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


class Access(enum.Enum):
    ALLOWED = 200
    UNAUTHORIZED = 401  # a token is required and was missing or wrong
    FORBIDDEN = 403  # no token configured and the request is not from this machine


def metrics_token(settings: Settings) -> str | None:
    """``FLEET_METRICS_TOKEN``, refused (without repeating it) when it is short,
    a placeholder or not usable in a header; None when unset or empty."""
    if settings.metrics_token is None:
        return None
    token = settings.metrics_token.get_secret_value().strip()
    if not token:
        return None
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"FLEET_METRICS_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters;"
            " make one with: python3 -c 'import secrets; print(secrets.token_urlsafe(24))'"
        )
    if any(word in token.lower() for word in _PLACEHOLDERS):
        raise ConfigError("FLEET_METRICS_TOKEN is a placeholder; set a random token")
    if not set(token) <= _TOKEN_CHARACTERS:
        raise ConfigError(
            "FLEET_METRICS_TOKEN may hold letters, digits and - . _ ~ + / = only"
            " (what an Authorization header carries)"
        )
    return token


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header value carries ``token`` (constant-time)."""
    if authorization is None:
        return False
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(credentials.strip().encode(), token.encode())


def is_loopback(address: str | None) -> bool:
    """Whether a peer address is this machine's loopback (IPv4-mapped too);
    False for anything that is not an IP address."""
    if address is None:
        return False
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return parsed.ipv4_mapped.is_loopback
    return parsed.is_loopback


def decide(
    *, peer: str | None, authorization: str | None, forwarded: bool, token: str | None
) -> Access:
    """The rule: with a token, the token decides; without one, only a loopback
    peer whose request no proxy forwarded may read."""
    if token is not None:
        return Access.ALLOWED if bearer_matches(authorization, token) else Access.UNAUTHORIZED
    if forwarded or not is_loopback(peer):
        return Access.FORBIDDEN
    return Access.ALLOWED


def check_listener(host: str, token: str | None) -> None:
    """A metrics listener without a token must bind a loopback address."""
    if token is not None or host == "localhost" or is_loopback(host):
        return
    raise ConfigError(
        f"FLEET_METRICS_HOST={host} is reachable from other hosts and FLEET_METRICS_TOKEN"
        " is not set: set FLEET_METRICS_TOKEN (Prometheus sends it as a bearer token) or"
        " keep FLEET_METRICS_HOST on 127.0.0.1 (docs/metrics.md)"
    )
