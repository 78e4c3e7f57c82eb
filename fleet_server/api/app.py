"""The API and web console application (``fleet-server api``)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from psycopg_pool import ConnectionPool
from starlette.middleware.gzip import GZipMiddleware

from fleet_server.api import docs_page, interpreter, metrics, problems
from fleet_server.api.deps import ApiContext, Ctx
from fleet_server.commands import CommandPublisher, CommandService
from fleet_server.db.connect import conninfo, database_check
from fleet_server.metrics.access import metrics_token
from fleet_server.provisioning import ProvisioningBackend
from fleet_server.settings import Settings
from fleet_server.users.models import LoginPolicy

API_PREFIX = "/api/v1"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def policy_from(settings: Settings) -> LoginPolicy:
    return LoginPolicy(
        lockout_failures=settings.api_lockout_failures,
        lockout=timedelta(seconds=settings.api_lockout_s),
        address_failures=settings.api_address_failures,
        address_window=timedelta(seconds=settings.api_address_window_s),
        token_ttl=timedelta(seconds=settings.api_token_ttl_s),
        session_ttl=timedelta(seconds=settings.api_session_ttl_s),
        session_idle=timedelta(seconds=settings.api_session_idle_s),
    )


def tcp_broker_check(settings: Settings, timeout: float = 1.0) -> Callable[[], str | None]:
    """Readiness of the broker: its listener accepts a TCP connection."""

    def check() -> str | None:
        endpoint = settings.mqtt
        try:
            with socket.create_connection((endpoint.host, endpoint.port), timeout=timeout):
                return None
        except OSError as exc:
            return f"broker {endpoint.host}:{endpoint.port} unreachable: {exc.strerror or exc}"

    return check


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], datetime] = _utcnow,
    pool: ConnectionPool[Any] | None = None,
    broker_check: Callable[[], str | None] | None = None,
    console: bool = True,
    publisher: CommandPublisher | None = None,
    provisioning: ProvisioningBackend | None = None,
) -> FastAPI:
    """Build the application. Tests pass a clock and, if they like, a pool
    and a command publisher (default: one from ``settings``, connected at the
    first command; the application closes it when it stops) and a provisioning
    backend (default: from ``settings``; docs/provisioning.md)."""
    own_pool = pool is None
    the_pool: ConnectionPool[Any] = pool or ConnectionPool(
        conninfo(settings.database_url, jit=settings.db_jit),
        min_size=1,
        max_size=settings.api_pool_size,
        kwargs={"application_name": "fleet-api"},
        open=False,
        timeout=10,
    )

    commands = CommandService(
        the_pool,
        publisher or CommandPublisher(settings),
        clock=clock,
        publish_timeout_s=settings.command_publish_timeout_s,
        retry_interval_s=settings.command_retry_interval_s,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if own_pool:
            the_pool.open(wait=False)
        commands.resume()
        untune = interpreter.tune(
            settings.api_switch_interval_ms / 1000, settings.api_gc_settle_s or None
        )
        try:
            yield
        finally:
            untune()
            commands.close()
            if own_pool:
                the_pool.close()

    app = FastAPI(
        title="Lai Châu information boards: fleet API",
        version="1.0",
        description=(
            "Boards, sites, telemetry, cameras, incidents, maintenance and tickets of the "
            "public electronic information boards of Lai Châu province. Authenticate with "
            "`POST /api/v1/auth/token` and send `Authorization: Bearer <token>`. Errors are "
            "RFC 9457 problem documents."
        ),
        lifespan=lifespan,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by docs_page (Swagger UI 5, from a package, not a CDN)
        redoc_url=None,
    )
    app.state.ctx = ApiContext(
        settings=settings,
        pool=the_pool,
        clock=clock,
        policy=policy_from(settings),
        broker_check=broker_check or tcp_broker_check(settings),
        commands=commands,
    )
    app.state.provisioning = provisioning or ProvisioningBackend.from_settings(settings)
    problems.install(app)
    # Pages and lists compressed for phones on weak 4G (a 38 KiB incident
    # list is 2 KiB): only for clients that ask, only above 1 KiB. Level 1,
    # nginx's default: the admin's 800 KB overview costs 6-8 ms of CPU a
    # request at level 6 on these 2 cores, about a quarter of that at 1, for
    # a few per cent more bytes. The console's CSRF token is masked per
    # response (deps.masked_csrf), so a compressed page reflecting input
    # leaks nothing of it (BREACH).
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1)
    metrics.install(app, the_pool, token=metrics_token(settings))
    docs_page.install(app, API_PREFIX)

    @app.get("/healthz", tags=["health"], summary="the process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="the database and the broker are reachable",
        responses={503: {"description": "a dependency is unreachable"}},
    )
    def readyz(ctx: Ctx) -> JSONResponse:
        checks: dict[str, str] = {}
        database = database_check(ctx.pool)
        checks["database"] = "ok" if database is None else database
        broker = ctx.broker_check()
        checks["broker"] = "ok" if broker is None else broker
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    from fleet_server.api.routers import ROUTERS  # noqa: PLC0415 - after the context exists

    for router in ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    if console:
        from fleet_server.api.console import mount  # noqa: PLC0415

        mount(app)
    return app
