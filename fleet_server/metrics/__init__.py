"""Prometheus metrics of the fleet server itself (docs/metrics.md).

``new_registry()`` builds a registry per process or app; the groups in
``families`` register the role's families in it; ``DatabaseCollector`` reads
the fleet's state from PostgreSQL at scrape time; ``serving`` exposes a
registry over HTTP for the roles without a web server.
"""

from fleet_server.metrics.collector import DatabaseCollector
from fleet_server.metrics.endpoint import serving
from fleet_server.metrics.families import (
    ApiMetrics,
    EngineMetrics,
    IngestMetrics,
    NotificationMetrics,
    message_kind,
)
from fleet_server.metrics.registry import new_registry, render

__all__ = [
    "ApiMetrics",
    "DatabaseCollector",
    "EngineMetrics",
    "IngestMetrics",
    "NotificationMetrics",
    "message_kind",
    "new_registry",
    "render",
    "serving",
]
