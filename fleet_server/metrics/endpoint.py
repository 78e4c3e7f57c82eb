"""The ``/metrics`` endpoint of the ingest and engine processes.

The API serves its metrics on its own port; the other roles have no web
server, so a small threaded WSGI server (prometheus-client's) serves their
registry, behind the bearer token of ``FLEET_METRICS_TOKEN`` when it is set
(fleet_server/metrics/access.py).
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from fleet_server.errors import ConfigError
from fleet_server.metrics.access import bearer_matches, check_listener

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)


class _QuietHandler(WSGIRequestHandler):
    """No line on stderr per scrape."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def guarded(app: WSGIApplication, token: str) -> WSGIApplication:
    """``app`` answering only requests that carry ``Authorization: Bearer <token>``."""

    def guarded_app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if bearer_matches(environ.get("HTTP_AUTHORIZATION"), token):
            return app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("Content-Type", "text/plain; charset=utf-8"), ("WWW-Authenticate", "Bearer")],
        )
        return [b"a bearer token is required (FLEET_METRICS_TOKEN)\n"]

    return guarded_app


@contextmanager
def serving(
    registry: CollectorRegistry, host: str, port: int, token: str | None = None
) -> Iterator[int | None]:
    """Serve ``registry`` on ``host:port`` while the block runs; port 0: not at
    all (yields None). Without ``token`` only a loopback ``host`` is accepted.
    An address that cannot be used is a configuration error."""
    if port == 0:
        yield None
        return
    check_listener(host, token)
    app = make_wsgi_app(registry)
    if token is not None:
        app = guarded(app, token)

    class Server(ThreadingWSGIServer):
        pass

    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        Server.address_family = family
        server = make_server(str(address[0]), port, app, Server, handler_class=_QuietHandler)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
    thread = threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    log.info(
        "metrics on http://%s:%d/metrics (%s)",
        host,
        port,
        "bearer token required" if token is not None else "this machine only",
    )
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
