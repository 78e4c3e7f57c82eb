"""The metric families each role records, grouped per role.

Each group takes the registry it registers in, so two ingest services (or
two apps) in one process never share a counter. Label values are always
from a small, fixed set (message kinds, dead-letter reasons, channels, route
templates): never a board id or a raw path.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fleet_protocol import TelemetryKind

#: every value the ``kind`` label of the ingest families takes
MESSAGE_KINDS = (
    "state",
    *(kind.value for kind in TelemetryKind),
    "event",
    "cmd_result",
    "config_reported",
    "snapshot",
    "logs",
    "other",
)
NOTIFICATION_CHANNELS = ("email", "webhook")

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


#: topic after ``fleet/v1/<device>/`` -> ``kind`` label
_KINDS_BY_TAIL = {
    "state": "state",
    **{f"telemetry/{kind.value}": kind.value for kind in TelemetryKind},
    "cmd_result": "cmd_result",
    "config/reported": "config_reported",
    "snapshot": "snapshot",
    "logs": "logs",
}


def message_kind(topic: str) -> str:
    """The ``kind`` label of a board message: its telemetry kind or channel.

    Called for every message ingest commits, so a split and a dict lookup,
    not a full :func:`fleet_protocol.parse_topic` (decode already judged the
    topic; a bad one is ``other`` here and a dead letter there)."""
    parts = topic.split("/", 3)
    if len(parts) != 4 or parts[0] != "fleet" or parts[1] != "v1":
        return "other"
    tail = parts[3]
    kind = _KINDS_BY_TAIL.get(tail)
    if kind is not None:
        return kind
    if tail.startswith("event/") and "/" not in tail[6:] and len(tail) > 6:
        return "event"
    return "other"


class ReceivedMessage(Protocol):
    """What ingest knows of a message off the wire (``Inbound``)."""

    @property
    def topic(self) -> str: ...

    @property
    def payload(self) -> bytes: ...

    @property
    def received_at(self) -> float: ...


class IngestMetrics:
    """The ingest pipeline: what was committed, how fast, how late."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.messages = Counter(
            "fleet_ingest_messages_total",
            "Board messages committed (stored or dead-lettered), by message kind.",
            ["kind"],
            registry=registry,
        )
        self.bytes = Counter(
            "fleet_ingest_bytes_total",
            "Payload bytes of the committed board messages, by message kind.",
            ["kind"],
            registry=registry,
        )
        for kind in MESSAGE_KINDS:
            self.messages.labels(kind)
            self.bytes.labels(kind)
        self.dead_letters = Counter(
            "fleet_ingest_dead_letters_total",
            "Messages written to the dead letters instead of the telemetry tables, by reason.",
            ["reason"],
            registry=registry,
        )
        self.dead_letters_suppressed = Counter(
            "fleet_ingest_dead_letters_suppressed_total",
            "Dead letters counted instead of written (a board over its limit a minute), by reason.",
            ["reason"],
            registry=registry,
        )
        self.isolations = Counter(
            "fleet_ingest_isolations_total",
            "Batches PostgreSQL refused for a message's data, written again in parts so that"
            " only the refused messages became dead letters.",
            registry=registry,
        )
        self.dropped = Counter(
            "fleet_ingest_dropped_total",
            "QoS 0 messages dropped on arrival because too many were waiting to be committed.",
            registry=registry,
        )
        self.receipts = Counter(
            "fleet_ingest_receipts_total",
            "Delivery receipts to boards, by outcome: published (handed to the MQTT client)"
            " or unsent (no broker connection; the board sends those messages again).",
            ["outcome"],
            registry=registry,
        )
        for outcome in ("published", "unsent"):
            self.receipts.labels(outcome)
        self.duplicate_rows = Counter(
            "fleet_ingest_duplicate_rows_total",
            "Rows not inserted because the same message was already stored (redeliveries).",
            registry=registry,
        )
        self.database_failures = Counter(
            "fleet_ingest_database_failures_total",
            "Attempts to commit a batch that failed (database unreachable or refusing).",
            registry=registry,
        )
        self.batch_messages = Histogram(
            "fleet_ingest_batch_messages",
            "Messages per committed batch.",
            buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2000, 5000, 10_000, 50_000),
            registry=registry,
        )
        self.commit_seconds = Histogram(
            "fleet_ingest_commit_duration_seconds",
            "Time to write and commit one batch.",
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
        self.lag_seconds = Histogram(
            "fleet_ingest_lag_seconds",
            "Time from a message's arrival from the broker to the commit of its batch.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=registry,
        )
        self.last_commit = Gauge(
            "fleet_ingest_last_commit_timestamp_seconds",
            "Unix time of the last committed batch (0: none since the process started).",
            registry=registry,
        )
        self.queued = Gauge(
            "fleet_ingest_queue_messages",
            "Messages received from the broker and not yet committed.",
            registry=registry,
        )
        self.connected = Gauge(
            "fleet_ingest_broker_connected",
            "1 while the ingest process is connected to the broker.",
            registry=registry,
        )

    def commit(
        self,
        seconds: float,
        duplicates: int,
        dead_letter_reasons: Iterable[str],
        suppressed: Mapping[str, int] | None = None,
    ) -> None:
        """One batch written and committed: its dead letters written in full
        by reason, and those only counted (``suppressed``) by reason."""
        self.commit_seconds.observe(seconds)
        if duplicates:
            self.duplicate_rows.inc(duplicates)
        for reason in dead_letter_reasons:
            self.dead_letters.labels(reason).inc()
        for reason, count in (suppressed or {}).items():
            self.dead_letters_suppressed.labels(reason).inc(count)

    def batch_committed(self, batch: Sequence[ReceivedMessage], now: float | None = None) -> None:
        """Every message of a committed batch: counts, bytes and lag."""
        now = time.time() if now is None else now
        self.batch_messages.observe(len(batch))
        # Summed per kind first: one locked increment per kind, not per message.
        counts: dict[str, int] = {}
        sizes: dict[str, int] = {}
        observe = self.lag_seconds.observe
        for item in batch:
            kind = message_kind(item.topic)
            counts[kind] = counts.get(kind, 0) + 1
            sizes[kind] = sizes.get(kind, 0) + len(item.payload)
            observe(max(0.0, now - item.received_at))
        for kind, count in counts.items():
            self.messages.labels(kind).inc(count)
            self.bytes.labels(kind).inc(sizes[kind])
        self.last_commit.set(now)


class EngineMetrics:
    """The engine: how long a pass takes and whether this engine leads."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.evaluation_seconds = Histogram(
            "fleet_engine_evaluation_duration_seconds",
            "Time of one engine pass (state, rules, incidents) in its transaction.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
            registry=registry,
        )
        self.evaluation_failures = Counter(
            "fleet_engine_evaluation_failures_total",
            "Engine passes that raised and were rolled back.",
            registry=registry,
        )
        self.leader = Gauge(
            "fleet_engine_leader",
            "1 while this engine holds the leader lock and evaluates, 0 while it stands by.",
            registry=registry,
        )

    def track_leader(self, is_leader: threading.Event) -> None:
        """Read the leader gauge from ``is_leader`` at every scrape."""
        self.leader.set_function(lambda: 1.0 if is_leader.is_set() else 0.0)


class NotificationMetrics:
    """Notification delivery by channel."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.sent = Counter(
            "fleet_notifications_sent_total",
            "Messages (one or a group of outbox rows) the channel's transport accepted.",
            ["channel"],
            registry=registry,
        )
        self.failed = Counter(
            "fleet_notifications_failed_total",
            "Delivery attempts that failed (retried later, or given up).",
            ["channel"],
            registry=registry,
        )
        self.given_up = Counter(
            "fleet_notifications_given_up_total",
            "Outbox rows marked failed for good (permanent error or past their maximum age).",
            ["channel"],
            registry=registry,
        )
        for channel in NOTIFICATION_CHANNELS:
            self.sent.labels(channel)
            self.failed.labels(channel)
            self.given_up.labels(channel)


class ApiMetrics:
    """HTTP requests served by the API and web console."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.request_seconds = Histogram(
            "fleet_api_request_duration_seconds",
            "Time to answer a request, by method, route template and status class.",
            ["method", "route", "status_class"],
            buckets=_LATENCY_BUCKETS,
            registry=registry,
        )
