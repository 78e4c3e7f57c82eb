"""What every request handler gets: the database connection (one transaction
per request), the clock, and the authenticated principal."""

from __future__ import annotations

import asyncio
import hmac
import secrets
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from fleet_server.access.principal import Principal
from fleet_server.api import addresses
from fleet_server.api.guards import checks
from fleet_server.api.problems import Problem
from fleet_server.db import lending
from fleet_server.settings import Settings
from fleet_server.users.models import LoginPolicy
from fleet_server.users.service_logins import resolve_token

if TYPE_CHECKING:
    from fleet_server.commands import CommandService

Conn = psycopg.Connection[Any]
SESSION_COOKIE = "fleet_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class ApiContext:
    settings: Settings
    pool: ConnectionPool[Any]
    clock: Callable[[], datetime]
    policy: LoginPolicy
    #: Returns None when the broker is reachable, else the reason.
    broker_check: Callable[[], str | None]
    #: Per event loop: requests allowed to wait for or hold a pooled
    #: connection at once (see ``database_slot``).
    slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = field(
        default_factory=weakref.WeakKeyDictionary
    )
    #: Publishes commands and desired configuration (fleet_server.commands).
    commands: CommandService | None = None


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


async def _context(request: Request) -> ApiContext:
    # Dependencies that neither block nor take long are ``async``: FastAPI
    # runs a sync one in a worker thread, and each such hand-over waits for
    # the GIL behind whatever page is rendering (up to the switch interval
    # twice), which made the console's tail under load.
    return context(request)


Ctx = Annotated[ApiContext, Depends(_context)]


async def database_slot(ctx: Ctx) -> AsyncIterator[None]:
    """Queue requests for the pool on the event loop, not in worker threads.

    Sync dependencies and handlers run in AnyIO's thread pool (40 threads).
    With more concurrent requests than threads, every thread could be
    blocked in ``pool.getconn()`` while the requests that hold the
    connections wait for a thread to finish in: nothing moves until the pool
    times out and every request fails (found by bench/api.py, 50 clients on
    one worker). At most pool-size requests pass here, so a thread never
    waits for a connection that cannot come."""
    loop = asyncio.get_running_loop()
    slots = ctx.slots.get(loop)
    if slots is None:
        slots = ctx.slots[loop] = asyncio.Semaphore(ctx.pool.max_size)
    async with slots:
        yield


def connection(ctx: Ctx, _slot: Annotated[None, Depends(database_slot)]) -> Iterator[Conn]:
    """One transaction per request: committed when the handler returns,
    rolled back when it raises.

    A text value with a NUL character cannot be stored or even compared by
    PostgreSQL (psycopg refuses to send it): that is the caller's bad input
    (422), wherever in the request it came from, not a server error."""
    with ctx.pool.connection() as conn:
        lending.record(conn, ctx.pool)  # a cache rebuild the request starts borrows from it
        try:
            yield conn
        except psycopg.DataError as exc:
            if "NUL (0x00)" not in str(exc):
                raise
            raise Problem(
                422,
                "text values may not contain NUL (\\u0000) characters",
                kind="validation",
                title="Invalid request",
            ) from None


#: Committed before the response is sent (scope "function"): a client that gets
#: a 2xx and asks again at once sees its change.
Db = Annotated[Conn, Depends(connection, scope="function")]


async def now(ctx: Ctx) -> datetime:
    return ctx.clock()


Now = Annotated[datetime, Depends(now)]


def client_address(request: Request) -> str | None:
    """The client's IP address, the one every login limit and audit row uses:
    the TCP peer's, or what a trusted proxy forwarded (api/addresses.py);
    None when the server cannot tell."""
    ctx: ApiContext = request.app.state.ctx
    return addresses.client_address(
        request.client.host if request.client is not None else None,
        request.headers.getlist("x-forwarded-for"),
        ctx.settings.api_trusted_proxies,
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def optional_principal(request: Request, ctx: Ctx, conn: Db) -> Principal | None:
    """The caller, from a bearer token or the console's session cookie. For a
    cookie on a state-changing request the CSRF header must match."""
    now_ = ctx.clock()
    token = bearer_token(request)
    if token is not None:
        principal = resolve_token(conn, token, "bearer", now=now_, policy=ctx.policy)
        if principal is None:
            raise Problem(
                401,
                "the bearer token is invalid or has expired; log in again",
                kind="unauthorized",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    principal = resolve_token(conn, cookie, "session", now=now_, policy=ctx.policy)
    if principal is None:
        return None
    if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
        check_csrf(principal, request.headers.get(CSRF_HEADER))
    return principal


def masked_csrf(token: str) -> str:
    """The session's CSRF token as a page carries it: XORed with a fresh
    random pad, the pad in front (hex). Each response shows different bytes,
    so a compressed page that also reflects the visitor's input leaks
    nothing about the token through its length (BREACH); :func:`check_csrf`
    takes either form."""
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    return (pad + bytes(a ^ b for a, b in zip(pad, raw, strict=True))).hex()


def _unmasked(supplied: str, length: int) -> bytes | None:
    if len(supplied) != 4 * length:
        return None
    try:
        both = bytes.fromhex(supplied)
    except ValueError:
        return None
    return bytes(a ^ b for a, b in zip(both[:length], both[length:], strict=True))


def check_csrf(principal: Principal, supplied: str | None) -> None:
    if principal.via != "session":
        return
    expected = (principal.csrf_token or "").encode()
    given: bytes | None = None
    if supplied and expected:
        given = supplied.encode() if len(supplied) == len(expected) else None
        given = given or _unmasked(supplied, len(expected))
    if not given or not hmac.compare_digest(given, expected):
        raise Problem(
            403,
            "missing or wrong CSRF token: reload the page and try again",
            kind="csrf",
        )


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Problem(
            401,
            "authentication required: send a bearer token from POST /api/v1/auth/token",
            kind="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


User = Annotated[Principal, Depends(current_principal)]


def require(capability: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the request through only with ``capability``."""

    async def dependency(principal: User) -> Principal:
        if not principal.can(capability):
            raise Problem(
                403,
                f"the {principal.role} role may not do this ({capability})",
                kind="forbidden",
            )
        return principal

    return checks(dependency, capability)
