"""The ``/metrics`` endpoint of the ingest and engine processes.

The API serves its metrics on its own port; the other roles have no web
server, so prometheus-client's small threaded one serves their registry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, start_http_server

from fleet_server.errors import ConfigError

log = logging.getLogger(__name__)


@contextmanager
def serving(registry: CollectorRegistry, host: str, port: int) -> Iterator[int | None]:
    """Serve ``registry`` on ``host:port`` while the block runs; port 0: not at
    all (yields None). A port that cannot be bound is a configuration error."""
    if port == 0:
        yield None
        return
    try:
        server, thread = start_http_server(port, host, registry=registry)
    except OSError as exc:
        raise ConfigError(f"cannot serve metrics on {host}:{port}: {exc.strerror or exc}") from exc
    log.info("metrics on http://%s:%d/metrics", host, port)
    try:
        yield int(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
