"""A fresh registry per process or application, never the global default.

prometheus-client's module-level ``REGISTRY`` is shared by everything in the
interpreter: two apps (or two tests) registering the same family there
collide. Each role builds its own registry here and hands it to the metric
groups in :mod:`fleet_server.metrics.families`.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)


def new_registry(*, process: bool = True) -> CollectorRegistry:
    """An empty registry; with ``process`` also the standard ``process_*``,
    ``python_info`` and ``python_gc_*`` families of this process."""
    registry = CollectorRegistry(auto_describe=True)
    if process:
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
    return registry


def render(registry: CollectorRegistry) -> tuple[bytes, str]:
    """The registry in the text exposition format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
