"""The ingest pipeline: queue → decode → batch → commit → ack → receipts.

One writer thread takes messages from the queue in arrival order, validates
them with ``fleet_protocol``, writes each batch in one transaction and only
then acknowledges the batch's messages to the broker and sends the boards
their delivery receipts (``receipts``).

**Flow control.** paho's network thread only appends to the inbox
(``inbox``: the writer is woken once per batch, not per message); it never
waits, so keepalives flow while the database is away. Memory stays bounded
by the broker: it sends at most the receive maximum (MQTT 5) or its
``max_inflight_messages`` (MQTT 3.1.1) of unacknowledged QoS 1 messages,
and nothing is acknowledged before its commit. QoS 0 messages are not
counted by the broker: beyond a cap of them waiting, they are dropped and
counted (``fleet_ingest_dropped_total``).

**Pipelining.** A batch takes at most half the receive maximum (MQTT 5):
while one commits, the broker keeps sending the next into the other half.
A batch as large as the window stops the broker for every commit (issue 20:
half the throughput of a bare subscriber).

**Failures.** A message the database refuses becomes a dead letter and
never takes the rest of its batch with it (``BatchWriter``); a board over
its dead-letter allowance is counted, not written (``deadletters``). When the
database is away (connection errors) nothing is acknowledged and the batch
is retried with backoff until it commits.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from datetime import UTC, datetime
from functools import partial

import psycopg

from fleet_protocol import ProtocolError, decode, parse_topic
from fleet_protocol.build import build_models
from fleet_protocol.redact import redact
from fleet_server.backoff import Backoff
from fleet_server.db.connect import connect
from fleet_server.engine import pipeline_health
from fleet_server.errors import DatabaseUnavailable
from fleet_server.ingest.boards import KnownBoards
from fleet_server.ingest.compact import ACCEPTED_ENCODINGS, births, capabilities_for, expand
from fleet_server.ingest.consumer import Inbound, MqttConsumer
from fleet_server.ingest.deadletters import DeadLetterLimiter
from fleet_server.ingest.inbox import Inbox
from fleet_server.ingest.receipt_hold import ReceiptHold
from fleet_server.ingest.receipts import Key, publications, receipt_key
from fleet_server.ingest.stats import IngestStats
from fleet_server.ingest.stopping import STOP_GRACE_S, STOP_TIMEOUT_S, join_writer
from fleet_server.metrics import IngestMetrics, new_registry
from fleet_server.mqtt import MQTT_V5
from fleet_server.settings import Settings
from fleet_server.telemetry.storage import Accepted, BatchWriter, Rejected

log = logging.getLogger(__name__)

#: Seconds between the records that ingest (and the broker it is connected
#: to) is up: how the engine tells a board's silence from ours.
BEAT_S = 10.0
#: errors of the database itself (read-only, a missing table …), not of the
#: connection, retried this often before ingest gives up and exits (unacked
#: messages stay with the broker). A message's data never counts here: the
#: writer turns what the database refuses into dead letters.
_MAX_UNEXPECTED_FAILURES = 10
#: reason of a dead letter whose decoding failed unexpectedly (a bug, not the board's)
UNDECODABLE = "undecodable"


def classify(item: Inbound, settings: Settings) -> Accepted | Rejected:
    """Validate one raw message; never raises. Times a board's clock puts too
    far from the receiving time are refused (``clock_out_of_range``)."""
    received_at = datetime.fromtimestamp(item.received_at, UTC)
    try:
        message = decode(
            item.topic,
            item.payload,
            max_bytes=settings.ingest_max_payload_bytes,
            received_at=received_at,
            past_s=settings.ingest_clock_past_s,
            future_s=settings.ingest_clock_future_s,
        )
    except ProtocolError as exc:
        reason, detail = exc.reason, exc.detail
    except Exception as exc:  # a bug must not stop ingest; the message is kept
        log.exception("decoding a message on %s failed", redact(item.topic)[:120])
        reason, detail = UNDECODABLE, f"{type(exc).__name__}: {exc}"[:500]
    else:
        # Ingest subscribes to board → server topics only (subscription_filters),
        # so decode() hands back a board message here.
        return Accepted(message, received_at, item.topic, item.payload)  # type: ignore[arg-type]
    try:
        device_id: str | None = parse_topic(item.topic).device_id
    except ProtocolError:
        device_id = None
    return Rejected(item.topic, device_id, reason, detail, item.payload, received_at)


class IngestService:
    """Runs the MQTT consumer and the writer thread until ``stop``."""

    def __init__(self, settings: Settings, metrics: IngestMetrics | None = None) -> None:
        self.settings = settings
        #: named to boards after their birth (compact encoding); () acts as an older ingest
        self.encodings: tuple[str, ...] = ACCEPTED_ENCODINGS
        # Unbounded: the broker's flow control bounds the QoS 1 messages in
        # it, the inbox's cap the QoS 0 ones (see the module).
        self._inbox = Inbox(max(settings.ingest_receive_maximum, settings.ingest_batch_size) * 2)
        self.consumer = MqttConsumer(settings, self._enqueue)
        self.stats = IngestStats()
        #: Prometheus families, in a registry of this service's own unless given
        self.metrics = metrics or IngestMetrics(new_registry(process=False))
        self.metrics.queued.set_function(lambda: self.queued)
        self.metrics.connected.set_function(lambda: float(self.consumer.connected.is_set()))
        self._stopping = threading.Event()
        self._rng = random.Random()  # noqa: S311 - retry jitter; one a batch cost a seed each
        self._writer_thread: threading.Thread | None = None
        self._writer: BatchWriter | None = None
        self.idle = threading.Event()
        self.fatal: str | None = None
        #: Unknown and disabled boards' messages go to the dead letters.
        self.boards = KnownBoards(
            require_known=settings.require_known_board, refresh_s=settings.ingest_board_refresh_s
        )
        #: A board's dead letters beyond its allowance a minute are counted only.
        self.limiter = DeadLetterLimiter(settings.ingest_dead_letter_board_per_minute)
        #: compact boards' receipts coalesced (receipt_hold); 0 s: never held
        every = settings.ingest_receipt_every_s if settings.ingest_receipts else 0
        self.hold = ReceiptHold(every, settings.ingest_receipt_hold_max)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        build_models()  # the protocol defers its validators: built here, not on a first message
        self._writer_thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._writer_thread.start()
        self.consumer.start()

    def stop(self, *, grace: float = STOP_GRACE_S, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop taking messages, commit and ack what is queued, disconnect;
        within ``timeout`` s of the writer's (``stopping``: after ``grace``
        s its statement is cancelled, and what it held stays unacked)."""
        self._stopping.set()
        self._inbox.stop()  # the writer also watches _stopping
        thread = self._writer_thread
        ended = thread is None or join_writer(
            thread, self._cancel_statement, grace=grace, timeout=timeout
        )
        self.consumer.stop()
        if ended:  # else the writer may still use its connection
            self._close_db()

    def _cancel_statement(self) -> None:
        """Cancel the writer's statement, if any (from another thread)."""
        if (writer := self._writer) is not None:
            with contextlib.suppress(psycopg.Error):  # closed meanwhile, a cancel timing out
                writer.conn.cancel_safe(timeout=1.0)

    @property
    def queued(self) -> int:
        """Messages received and not yet taken into a batch."""
        return len(self._inbox)

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
        """Never blocks: paho's network thread must keep the connection alive."""
        self.stats.received += 1
        if self.idle.is_set():
            self.idle.clear()
        if not self._inbox.put(item):
            self.stats.dropped += 1
            self.metrics.dropped.inc()
            if self.stats.dropped % 1000 == 1:
                log.warning(
                    "ingest is behind: QoS 0 messages dropped (%d so far)", self.stats.dropped
                )

    # -- writer thread ----------------------------------------------------------------
    def batch_limit(self) -> int:
        """The batch size, at most half the receive window (see Pipelining)."""
        s = self.settings
        if self.consumer.protocol == MQTT_V5:
            return max(1, min(s.ingest_batch_size, s.ingest_receive_maximum // 2))
        return s.ingest_batch_size

    def _collect(self) -> tuple[list[Inbound], bool]:
        """Up to batch_limit messages, waiting at most batch_delay after the first."""
        batch, stop = self._inbox.take(
            self.batch_limit(), self.settings.ingest_batch_delay_ms / 1000
        )
        if not batch and not stop:
            self.idle.set()
        return batch, stop

    def _run(self) -> None:
        try:
            self._loop()
        finally:  # committed and acknowledged: their held receipts go now
            self._publish_receipts(self.hold.due(everything=True))

    def _loop(self) -> None:
        stop_seen = False
        beat_due = 0.0
        while not stop_seen:
            batch, stop_seen = self._collect()
            if batch:
                if not self._process(batch):
                    return  # stopping during an outage: unacked, the broker keeps them
            elif self.limiter.due() and not self._commit([], []):
                return  # the summaries of suppressed dead letters, when nothing else comes
            if due := self.hold.due():
                self._publish_receipts(due)
            beat_due = self._beat(beat_due)
        if self.limiter.pending():
            self._commit([], [], final=True)
        log.info("ingest writer stopped: %s", self.stats.snapshot())

    def _process(self, batch: list[Inbound]) -> bool:
        pairs = expand(batch, partial(classify, settings=self.settings))  # a batch's messages
        outcomes = [outcome for _, outcome in pairs]
        accepted = [o for o in outcomes if isinstance(o, Accepted)]
        rejected = [o for o in outcomes if isinstance(o, Rejected)]
        if not self._commit(accepted, rejected):
            return False
        self.metrics.batch_committed([item for item, _ in pairs])
        acked = self.consumer.ack_all(batch)
        self.stats.acked += acked
        self.stats.ack_skipped += len(batch) - acked
        if self.settings.ingest_receipts:
            self._send_receipts(pairs, batch)
        self._tell(births(outcomes))
        return True

    def _commit(
        self, accepted: list[Accepted], rejected: list[Rejected], *, final: bool = False
    ) -> bool:
        backoff = Backoff(base=0.1, cap=self.settings.ingest_retry_max_s, rng=self._rng)
        failures = 0
        gate = partial(self.limiter.admit, final=final)
        while True:
            try:
                writer = self._ensure_writer()
                stored, refused = self.boards.split(writer.conn, accepted)
                started = time.perf_counter()
                result = writer.write(stored, rejected + refused, gate)
            except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable) as exc:
                self.limiter.discard()
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
                self.limiter.discard()
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
            admission = self.limiter.confirm()
            self.stats.commit_seconds += elapsed
            self.stats.batches += 1
            self.stats.stored_rows += result.rows_inserted
            self.stats.duplicate_rows += result.duplicates
            self.stats.suppressed.update(admission.suppressed)
            if result.isolated:
                self.stats.isolations += 1
                self.metrics.isolations.inc()
            self.metrics.commit(
                elapsed,
                result.duplicates,
                (r.reason for r in admission.written),
                admission.suppressed,
            )
            for r in admission.written:
                self.stats.rejected[r.reason] += 1
                log.warning(
                    "dead letter (%s) on %s: %s",
                    r.reason,
                    redact(r.topic)[:120],
                    redact(r.detail)[:200],
                )
            if backoff.attempt:
                log.info("database back after %d attempts", backoff.attempt)
            return True

    def _send_receipts(
        self, pairs: list[tuple[Inbound, Accepted | Rejected]], batch: list[Inbound]
    ) -> None:
        """Tell each board what of its messages this batch committed, now or
        held (receipt_hold: a batch's messages); never blocks nor raises (an
        unsent receipt costs a duplicate, not data)."""
        try:
            limit = self.settings.ingest_max_payload_bytes
            alone = {id(item) for item in batch}  # not unpacked from a batch
            now: list[Key] = []
            batched: list[Key] = []
            for item, outcome in pairs:
                if (key := receipt_key(item, outcome, limit)) is not None:
                    (now if id(item) in alone else batched).append(key)
            untold = self.hold.untold(batched)  # receipted at once, then told
            self._publish_receipts(self.hold.route(now, batched))
            self._tell(untold)
        except Exception:
            log.exception("delivery receipts of a batch not sent")

    def _publish_receipts(self, keys: list[Key]) -> None:
        """At QoS 0, in one write (receipts, packets)."""
        receipts = publications(keys, datetime.now(UTC))
        if self.consumer.publish_all(receipts):
            sent, unsent = len(receipts), 0
        else:
            sent, unsent = 0, len(receipts)
        self.stats.receipts += sent
        self.stats.receipts_unsent += unsent
        self.metrics.receipts.labels("published").inc(sent)
        self.metrics.receipts.labels("unsent").inc(unsent)

    def _tell(self, boards: list[str]) -> None:
        """The ``capabilities`` word (with the receipt hold) to these boards."""
        for topic, payload in capabilities_for(boards, self.encodings, self.hold):
            self.consumer.publish(topic, payload)
        self.hold.told(boards)

    def _beat(self, due: float) -> float:
        """Every ``BEAT_S``, between batches: ingest (and its broker) is up
        (pipeline_health); a failure costs only that record."""
        now = time.monotonic()
        if now < due:
            return due
        try:
            pipeline_health.record_up(
                self._ensure_writer().conn,
                self.settings.ingest_client_id,
                datetime.now(UTC),
                BEAT_S,
                broker=self.consumer.connected.is_set(),
            )
        except (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable):
            self._close_db()
        except psycopg.Error as exc:  # e.g. a database not yet migrated to 0038
            log.warning("could not record that ingest is up: %s", str(exc).strip()[:200])
        return now + BEAT_S

    def _ensure_writer(self) -> BatchWriter:
        if self._writer is None:
            conn = connect(
                self.settings.database_url,
                application_name="fleet-ingest",
                jit=self.settings.db_jit,
            )
            try:
                self.boards.attach(conn)
            except BaseException:
                conn.close()
                raise
            self._writer = BatchWriter(conn, keep_bytes=self.settings.ingest_dead_letter_keep_bytes)
        return self._writer

    def _close_db(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(psycopg.Error):
                self._writer.conn.close()
            self._writer = None
