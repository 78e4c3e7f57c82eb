"""``/metrics`` of the API process and the request-latency middleware.

The latency histogram is labelled by route *template*
(``/api/v1/boards/{board_id}``), never by the path a client sent, so a
scanner requesting random URLs adds one ``unmatched`` series, not thousands.

``/metrics`` follows fleet_server/metrics/access.py: the bearer token of
``FLEET_METRICS_TOKEN`` when set, otherwise this machine only.
"""

from __future__ import annotations

import re
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry
from psycopg_pool import ConnectionPool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fleet_server.api.problems import Problem
from fleet_server.errors import Forbidden
from fleet_server.metrics import ApiMetrics, DatabaseCollector, new_registry, render
from fleet_server.metrics.access import FORWARDING_HEADERS, Access, decide

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def route_template(scope: Scope) -> str:
    """The template of the route that answered, e.g. ``/api/v1/boards/{board_id}``.

    Starlette leaves the matched route in ``scope["route"]``; routers included
    with a prefix may hand back the route as declared, without the prefix, so
    the prefix is recovered from the leading segments the route did not match.
    A request answered by a mount (static files) is named after the mount.
    """
    path: str = scope.get("path", "")
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    regex: re.Pattern[str] | None = getattr(route, "path_regex", None)
    if isinstance(template, str) and regex is not None:
        if regex.match(path):
            return template
        depth = template.count("/")
        segments = path.split("/")
        if len(segments) > depth:
            tail = "/".join(segments[-depth:])
            tail = tail if tail.startswith("/") else "/" + tail
            if regex.match(tail):
                return path[: len(path) - len(tail)] + template
        return UNMATCHED
    root: str = scope.get("root_path", "")
    return root + "/{path}" if root else UNMATCHED


class RequestMetrics:
    """Pure ASGI middleware: times every HTTP request until its response ends."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # if the app raises before answering, the server says 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            method = scope.get("method", "")
            self.metrics.request_seconds.labels(
                method if method in _METHODS else "other",
                route_template(scope),
                f"{status // 100}xx",
            ).observe(time.perf_counter() - started)


def check_access(request: Request, token: str | None) -> None:
    """Raise the 401 or 403 problem the access rule gives ``request``."""
    verdict = decide(
        peer=request.client.host if request.client else None,
        authorization=request.headers.get("authorization"),
        forwarded=any(name in request.headers for name in FORWARDING_HEADERS),
        token=token,
    )
    if verdict is Access.UNAUTHORIZED:
        raise Problem(
            401,
            "a bearer token is required (FLEET_METRICS_TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if verdict is Access.FORBIDDEN:
        # Without a token only a scraper on this machine may read (docs/metrics.md).
        raise Forbidden("/metrics answers this machine only unless FLEET_METRICS_TOKEN is set")


def install(
    app: FastAPI,
    pool: ConnectionPool[Any],
    registry: CollectorRegistry | None = None,
    *,
    token: str | None = None,
) -> CollectorRegistry:
    """Add the latency middleware and ``GET /metrics`` (with the fleet state read
    from ``pool`` at each scrape, behind ``token`` or for loopback peers only)
    to ``app``; a fresh registry unless given."""
    registry = registry or new_registry()
    metrics = ApiMetrics(registry)
    registry.register(DatabaseCollector(lambda: pool.connection(timeout=2)))
    app.add_middleware(RequestMetrics, metrics=metrics)
    app.state.metrics_registry = registry

    @app.get("/metrics", include_in_schema=False)
    def prometheus_metrics(request: Request) -> Response:
        check_access(request, token)
        body, content_type = render(registry)
        return Response(body, media_type=content_type)

    return registry
