"""The ingest pipeline: queue → decode → batch → commit → ack.

One writer thread takes messages from a bounded queue in arrival order,
validates them with ``fleet_protocol``, writes each batch in one transaction
and only then acknowledges the batch's messages to the broker. If the
database is down, nothing is acknowledged: the broker stops sending once the
receive maximum of unacknowledged messages is reached, so memory stays
bounded, and delivery resumes when a commit succeeds again.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg

from fleet_protocol import ProtocolError, decode, parse_topic
from fleet_server.backoff import Backoff
from fleet_server.db.connect import connect
from fleet_server.errors import DatabaseUnavailable
from fleet_server.ingest.boards import KnownBoards
from fleet_server.ingest.consumer import Inbound, MqttConsumer
from fleet_server.metrics import IngestMetrics, new_registry
from fleet_server.settings import Settings
from fleet_server.telemetry.storage import Accepted, BatchWriter, Rejected

log = logging.getLogger(__name__)

_STOP = object()
#: errors other than "the database is away" retried this often before ingest
#: gives up (and exits, unacked messages stay with the broker)
_MAX_UNEXPECTED_FAILURES = 10


@dataclass(slots=True)
class IngestStats:
    """Counters for logs, tests and (later) Prometheus."""

    received: int = 0
    stored_rows: int = 0
    duplicate_rows: int = 0
    batches: int = 0
    acked: int = 0
    ack_skipped: int = 0
    db_failures: int = 0
    commit_seconds: float = 0.0
    rejected: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, object]:
        return {
            "received": self.received,
            "stored_rows": self.stored_rows,
            "duplicate_rows": self.duplicate_rows,
            "batches": self.batches,
            "acked": self.acked,
            "ack_skipped": self.ack_skipped,
            "db_failures": self.db_failures,
            "commit_seconds": round(self.commit_seconds, 3),
            "rejected": dict(self.rejected),
        }


def classify(item: Inbound, settings: Settings) -> Accepted | Rejected:
    """Validate one raw message; never raises."""
    received_at = datetime.fromtimestamp(item.received_at, UTC)
    try:
        message = decode(item.topic, item.payload, max_bytes=settings.ingest_max_payload_bytes)
    except ProtocolError as exc:
        reason, detail = exc.reason, exc.detail
    else:
        # Ingest subscribes to board → server topics only (subscription_filters),
        # so decode() hands back a board message here.
        return Accepted(message, received_at, item.topic, item.payload)  # type: ignore[arg-type]
    try:
        device_id: str | None = parse_topic(item.topic).device_id
    except ProtocolError:
        device_id = None
    keep = settings.ingest_dead_letter_keep_bytes
    return Rejected(
        item.topic, device_id, reason, detail, item.payload[:keep], len(item.payload), received_at
    )


class IngestService:
    """Runs the MQTT consumer and the writer thread until ``stop``."""

    def __init__(self, settings: Settings, metrics: IngestMetrics | None = None) -> None:
        self.settings = settings
        # Bounded: the broker's receive maximum keeps us below this; if a
        # broker ignores it, the network thread blocks and TCP pushes back.
        self._queue: queue.Queue[Inbound | object] = queue.Queue(
            maxsize=max(settings.ingest_receive_maximum, settings.ingest_batch_size) * 2
        )
        self.consumer = MqttConsumer(settings, self._enqueue)
        self.stats = IngestStats()
        #: Prometheus families, in a registry of this service's own unless given
        self.metrics = metrics or IngestMetrics(new_registry(process=False))
        self.metrics.queued.set_function(lambda: self.queued)
        self.metrics.connected.set_function(lambda: float(self.consumer.connected.is_set()))
        self._stopping = threading.Event()
        self._writer_thread: threading.Thread | None = None
        self._writer: BatchWriter | None = None
        self.idle = threading.Event()
        self.fatal: str | None = None
        #: Unknown and disabled boards' messages go to the dead letters.
        self.boards = KnownBoards(
            require_known=settings.require_known_board,
            refresh_s=settings.ingest_board_refresh_s,
            keep_bytes=settings.ingest_dead_letter_keep_bytes,
        )

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        self._writer_thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._writer_thread.start()
        self.consumer.start()

    def stop(self, timeout: float = 30) -> None:
        """Stop taking messages, commit and ack what is queued, disconnect."""
        self._stopping.set()
        with contextlib.suppress(queue.Full):  # the writer also watches _stopping
            self._queue.put_nowait(_STOP)
        if self._writer_thread is not None:
            self._writer_thread.join(timeout)
        self.consumer.stop()
        self._close_db()

    @property
    def queued(self) -> int:
        """Messages received but not yet committed and acknowledged."""
        return self._queue.qsize()

    def run_forever(self, stop: threading.Event) -> None:
        self.start()
        while not stop.wait(1.0):
            if self.consumer.fatal:
                log.error("ingest stops: %s", self.consumer.fatal)
                break
            if self._writer_thread is not None and not self._writer_thread.is_alive():
                # Nothing is stored or acked any more: exit and let the service
                # manager restart us; the broker redelivers what was not acked.
                self.consumer.fatal = self.fatal or "the writer thread stopped"
                log.error("ingest stops: %s", self.consumer.fatal)
                break
        self.stop()

    # -- network thread ---------------------------------------------------------------
    def _enqueue(self, item: Inbound) -> None:
        self.stats.received += 1
        self.idle.clear()
        while True:
            try:
                self._queue.put(item, timeout=1.0)
                return
            except queue.Full:
                if self._stopping.is_set():
                    return  # not acked: the broker redelivers it
                log.warning("ingest queue full; holding the network thread")

    # -- writer thread ----------------------------------------------------------------
    def _collect(self) -> tuple[list[Inbound], bool]:
        """Up to batch_size messages, waiting at most batch_delay after the first."""
        s = self.settings
        batch: list[Inbound] = []
        try:
            first = self._queue.get(timeout=0.5)
        except queue.Empty:
            self.idle.set()
            return batch, False
        if first is _STOP:
            return batch, True
        batch.append(first)  # type: ignore[arg-type]
        deadline = time.monotonic() + s.ingest_batch_delay_ms / 1000
        while len(batch) < s.ingest_batch_size:
            remaining = deadline - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else (self._queue.get_nowait())
                )
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

    def _run(self) -> None:
        stop_seen = False
        while not stop_seen:
            batch, stop_seen = self._collect()
            if not batch:
                continue
            accepted: list[Accepted] = []
            rejected: list[Rejected] = []
            for item in batch:
                outcome = classify(item, self.settings)
                (accepted if isinstance(outcome, Accepted) else rejected).append(outcome)  # type: ignore[arg-type]
            if not self._commit(accepted, rejected):
                return  # stopping during an outage: unacked, the broker keeps them
            self.metrics.batch_committed(batch)
            for item in batch:
                if self.consumer.ack(item):
                    self.stats.acked += 1
                else:
                    self.stats.ack_skipped += 1
        log.info("ingest writer stopped: %s", self.stats.snapshot())

    def _commit(self, accepted: list[Accepted], rejected: list[Rejected]) -> bool:
        backoff = Backoff(base=0.1, cap=self.settings.ingest_retry_max_s)
        failures = 0
        while True:
            try:
                writer = self._ensure_writer()
                stored, refused = self.boards.split(writer.conn, accepted)
                started = time.perf_counter()
                result = writer.write(stored, rejected + refused)
            except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable) as exc:
                self.stats.db_failures += 1
                self.metrics.database_failures.inc()
                if backoff.attempt == 0:
                    log.warning(
                        "database unavailable, holding %d messages unacked: %s",
                        len(accepted) + len(rejected),
                        str(exc).strip()[:300],
                    )
                self._close_db()
                if backoff.wait(self._stopping) and self._stopping.is_set():
                    return False
                continue
            except Exception as exc:  # e.g. read-only after a failover, a missing table
                self.stats.db_failures += 1
                self.metrics.database_failures.inc()
                failures += 1
                log.exception(
                    "batch of %d not stored (attempt %d)", len(accepted) + len(rejected), failures
                )
                self._close_db()
                if failures >= _MAX_UNEXPECTED_FAILURES:
                    self.fatal = f"batch failed {failures} times: {type(exc).__name__}: {exc}"
                    return False
                if backoff.wait(self._stopping) and self._stopping.is_set():
                    return False
                continue
            elapsed = time.perf_counter() - started
            self.stats.commit_seconds += elapsed
            self.stats.batches += 1
            self.stats.stored_rows += result.rows_inserted
            self.stats.duplicate_rows += result.duplicates
            dead = rejected + refused + result.rejected_by_db
            self.metrics.commit(elapsed, result.duplicates, (r.reason for r in dead))
            for r in dead:
                self.stats.rejected[r.reason] += 1
                log.warning("dead letter (%s) on %s: %s", r.reason, r.topic[:120], r.detail[:200])
            if backoff.attempt:
                log.info("database back after %d attempts", backoff.attempt)
            return True

    def _ensure_writer(self) -> BatchWriter:
        if self._writer is None:
            conn = connect(self.settings.database_url, application_name="fleet-ingest")
            try:
                self.boards.attach(conn)
            except BaseException:
                conn.close()
                raise
            self._writer = BatchWriter(conn)
        return self._writer

    def _close_db(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(psycopg.Error):
                self._writer.conn.close()
            self._writer = None
