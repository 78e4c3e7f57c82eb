"""Notification delivery: a transactional outbox, routing, e-mail and webhooks.

The engine builds a ``Notice`` and calls ``enqueue(conn, notice)`` in the same
transaction as the incident change that caused it; a ``NotificationWorker``
sends what was committed (``notifications.worker``; not imported here, so
importing the package's types does not pull in the worker and its metrics).
See docs/notifications.md.
"""

from fleet_server.notifications.models import (
    DeliveryError,
    Notice,
    NoticeKind,
    NotificationSettings,
    SmtpSettings,
    Text,
)
from fleet_server.notifications.storage import cancel_for_incident, enqueue, release_held
from fleet_server.vocabulary import IncidentClass, Severity

__all__ = [
    "DeliveryError",
    "IncidentClass",
    "Notice",
    "NoticeKind",
    "NotificationSettings",
    "Severity",
    "SmtpSettings",
    "Text",
    "cancel_for_incident",
    "enqueue",
    "release_held",
]
