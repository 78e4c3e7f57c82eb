"""Delivery: hands spooled messages to the MQTT session and decides when each
one is delivered, so the spool may forget it.

``receipt`` mode (the default): a message stays in the spool until the
server's receipt (``fleet/v1/<id>/receipt``) says it is committed. PUBACK
only means the broker has it, and brokers lose queued messages across
restarts and fail-overs. So:

- after a reconnect every message the broker acknowledged but no receipt
  covered is sent again (marked replay; the server drops duplicates by
  their (device, boot, seq));
- one left without a receipt for ``receipt_timeout_s`` is sent again, and
  the wait doubles (up to an hour) while no receipt comes at all: a server
  whose ingest is down is not sent the same messages every minute;
- at most ``unreceipted_max`` messages wait for a receipt; at the bound no
  new message is sent until receipts arrive.

``puback`` mode, for a server that sends no receipts, deletes on PUBACK. A
broker that refuses the receipt subscription gets ``puback`` too, for that
connection.

Compact encoding: once the server has named ``fleet_protocol.compact.ENCODING``
on this connection (a ``capabilities`` message after the birth), telemetry
and events go out in batches (``edge_agent.batching`` decides which and
when); each message in a batch keeps its (boot, seq), so receipts, replay
and the bounds above work per message as before. A new connection starts
on JSON again until the server says so anew; after a connection that used
batches, the backlog waits up to ``_WORD_WAIT_S`` for that word, so a
backlog from an outage goes out in batches too. The same word may say the
server holds the receipts of batched messages (``receipt_every_s``, at most
``receipt_hold_max`` messages): on that connection a message is sent again
only ``receipt_every_s`` after its usual timeout, and the unreceipted bound
is at least ``receipt_hold_max``, so the wait never makes the agent resend
or stall.

When the spool cannot be written (disk full or failing) the agent keeps
going: messages are held in memory (``_MEMORY_MAX``, oldest telemetry
dropped first), sent directly and kept until they are delivered; the spool
is tried again every ``retry_s`` and, once it takes writes, what memory
still holds goes into it. Only the main thread uses this class.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import fleet_protocol as fp
from edge_agent.batching import BatchPolicy, packed, plan
from edge_agent.config import SpoolConfig
from edge_agent.errors import SpoolError
from edge_agent.session import Session
from edge_agent.spool import PRIORITY_TELEMETRY, Prepared, Spool, SpoolRow
from fleet_protocol.compact import ENCODING, batchable

log = logging.getLogger(__name__)

_MEMORY_MAX = 1000  # messages held while the spool cannot be written
_MAX_TIMEOUT_S = 3600.0
_PENDING_RECEIPTS_MAX = 100
_WORD_WAIT_S = 5.0  # how long a reconnected board waits for the server's capabilities


@dataclass(slots=True)
class _Handed:
    """A spooled row handed to paho and not delivered yet."""

    mid: int | None  # paho's message id while in flight; None once PUBACKed
    legacy: bool  # a row of an earlier agent without (boot, seq): delivered on PUBACK


@dataclass(slots=True)
class _Held:
    """A message the spool could not take, held in memory."""

    message: Prepared
    mid: int | None = None
    acked_at: float | None = None  # PUBACKed (receipt mode: waiting for the receipt)
    sends: int = 0


class Delivery:
    def __init__(
        self,
        spool: Spool,
        session: Session,
        settings: Callable[[], SpoolConfig],
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spool = spool
        self.session = session
        self._settings = settings
        self._clock = clock
        self._monotonic = monotonic
        self.published = 0  # messages delivered (deleted, or due to be)
        self.degraded: str | None = None  # why the spool cannot be written
        self._retry_at = 0.0
        self._mids: dict[int, list[int]] = {}  # paho mid -> spool row ids (several: a batch)
        #: (connection number, encoding) the server accepts batches in
        self._accepted: tuple[int, str] | None = None
        #: (seconds, messages) the server holds receipts of batched messages
        self._server_hold: tuple[int, int] = (0, 0)
        self._waiting: float | None = None  # created_at of the oldest row a batch holds back
        self._word_until = 0.0  # monotonic: until then the backlog waits for capabilities
        self._handed: dict[int, _Handed] = {}  # spool row id -> state
        self._awaiting: collections.OrderedDict[int, float] = collections.OrderedDict()
        self._resend: collections.OrderedDict[int, None] = collections.OrderedDict()
        self._done: set[int] = set()  # delivered: deleted at the next tick (or retry)
        self._receipts: list[fp.Receipt] = []  # not applied: the spool failed
        self._cursor = 0  # last spool row handed to paho
        self._seen_connects = 0
        # The last moment the link was seen down: a message older than that
        # waited across an outage (or an earlier run) and goes out as replay.
        self._offline_wall = clock()
        self._connected_wall = self._offline_wall
        self._timeout_level = 0
        self._held: dict[int, _Held] = {}  # seq -> message the spool could not take
        self._held_mids: dict[int, int] = {}  # paho mid -> seq
        self.held_dropped = 0
        self._refused_logged = False
        spool.sent_rows = self._awaiting.keys

    # -- state ------------------------------------------------------------------------
    @property
    def receipts(self) -> bool:
        """Whether delivery waits for the server's receipt on this connection."""
        return self._settings().delivery == "receipt" and not self.session.receipts_refused

    @property
    def batch_policy(self) -> BatchPolicy:
        """What goes in a batch and when, from ``[spool]`` (remotely settable)."""
        settings = self._settings()
        urgent = {"event"} if settings.batch_heartbeats_wait else {"heartbeat", "event"}
        return BatchPolicy(max_delay_s=settings.batch_max_delay_s, urgent=frozenset(urgent))

    @property
    def compact(self) -> bool:
        """Whether telemetry and events go out in batches on this connection."""
        return self._accepted is not None and self._accepted[0] == self.session.connects

    def take_capabilities(self, message: fp.Capabilities) -> None:
        """The server's word on what it reads besides JSON (this connection)."""
        if ENCODING in message.encodings and message.device_id == self.session.config.device_id:
            if not self.compact:
                log.info("the server reads batches (%s): telemetry goes out batched", ENCODING)
            self._accepted = (self.session.connects, ENCODING)
            self._server_hold = (message.receipt_every_s or 0, message.receipt_hold_max or 0)
        else:
            self._accepted = None

    @property
    def receipt_hold(self) -> tuple[int, int]:
        """(seconds, messages) the server holds this connection's batches'
        receipts: resent that much later, at least that many unreceipted."""
        return self._server_hold if self.compact else (0, 0)

    def wake_in(self) -> float | None:
        """Seconds until a batch held back (or the wait for the server's
        word) is due; None when nothing waits."""
        times = []
        if self._waiting is not None:
            times.append(self._waiting + self.batch_policy.max_delay_s - self._clock())
        if self._word_until and not self.compact:
            times.append(self._word_until - self._monotonic())
        return max(0.0, min(times)) if times else None

    @property
    def pending(self) -> int:
        """Messages not delivered yet (spool and memory)."""
        return self.spool.pending_count + len(self._held)

    @property
    def dropped(self) -> int:
        return self.spool.dropped_total + self.held_dropped

    @property
    def unreceipted(self) -> int:
        """Spooled messages handed to paho and not delivered yet (the bound of
        ``unreceipted_max`` in receipt mode)."""
        return len(self._handed)

    @property
    def awaiting(self) -> int:
        """Messages the broker acknowledged that still wait for their receipt."""
        return len(self._awaiting) + sum(1 for h in self._held.values() if h.acked_at is not None)

    # -- storing ----------------------------------------------------------------------
    def store(self, topic: str, make: Callable[[int], bytes], priority: int) -> int:
        """Spool a message (its payload built with its seq); hold it in memory
        when the spool cannot take it. Returns the seq."""
        if self.degraded is None or self._retry_due():
            if self.degraded is not None:
                self._try_recover()
            if self.degraded is None:
                try:
                    # Connected, a full disk costs nothing: the message is held
                    # in memory and sent live. Only a board that cannot send
                    # drops its oldest readings to make room for new ones.
                    online = self.session.ready.is_set()
                    return self.spool.add(topic, make, priority, make_room=not online)
                except SpoolError as exc:
                    self._failed(exc)
        seq = self.spool.next_seq()
        message = Prepared(topic, make(seq), priority, self.spool.boot, seq, self._clock())
        self._hold(message)
        return seq

    def _hold(self, message: Prepared) -> None:
        if len(self._held) >= _MEMORY_MAX:
            victim = next(
                (s for s, h in self._held.items() if h.message.priority == PRIORITY_TELEMETRY),
                next(iter(self._held)),
            )
            held = self._held.pop(victim)
            if held.mid is not None:
                self._held_mids.pop(held.mid, None)
            self.held_dropped += 1
        self._held[message.seq] = _Held(message)

    def _failed(self, exc: SpoolError) -> None:
        if self.degraded is None:
            log.warning("spool unusable, sending without it: %s", exc)
        self.degraded = str(exc)[:300]
        self._retry_at = self._monotonic() + self._settings().retry_s

    def _retry_due(self) -> bool:
        return self._monotonic() >= self._retry_at

    def _try_recover(self) -> None:
        """Write what memory holds to the spool and delete what was delivered
        (or, with neither, a probe): recovered once the spool takes all of it."""
        held = [h.message for h in self._held.values()]
        try:
            if held:
                self.spool.put(held)
                self._held.clear()
                self._held_mids.clear()
            if self._done:
                self.spool.acknowledge(self._done)
                self._done.clear()
            elif not held:
                self.spool.probe()
        except SpoolError as exc:
            self._failed(exc)
            return
        log.info("spool takes writes again; %d held messages written to it", len(held))
        self.degraded = None
        self.spool.maintain()

    # -- periodic work ----------------------------------------------------------------
    def tick(self) -> None:
        """Delete what was delivered since the last turn (one transaction);
        a spool that failed is retried at most every ``retry_s``."""
        if self.degraded is not None:
            if not self._retry_due():
                return
            self._try_recover()
            if self.degraded is not None:
                return
            receipts, self._receipts = self._receipts, []
            for receipt in receipts:
                self.take_receipt(receipt)
        if self._done:
            try:
                self.spool.acknowledge(self._done)
            except SpoolError as exc:
                self._failed(exc)
                return
            self._done.clear()

    def housekeeping(self) -> None:
        try:
            self.spool.expire()
        except SpoolError as exc:
            self._failed(exc)
            return
        if self.degraded is None:
            self.spool.maintain()

    def close(self) -> None:
        """Last chance for what memory holds to reach the disk."""
        self.take_acks()
        self._retry_at = 0.0
        self.tick()

    # -- acknowledgements -------------------------------------------------------------
    def take_acks(self) -> None:
        now = self._monotonic()
        receipts = self.receipts
        delivered: list[int] = []
        acked = self.session.acked
        while acked:
            mid = acked.popleft()
            row_ids = self._mids.pop(mid, None)
            if row_ids is None:
                self._held_acked(mid, now, receipts)
                continue
            for row_id in row_ids:
                handed = self._handed.get(row_id)
                if handed is None:
                    continue  # its receipt came first
                handed.mid = None
                if receipts and not handed.legacy:
                    self._awaiting[row_id] = now
                else:
                    del self._handed[row_id]
                    delivered.append(row_id)
        if not receipts and (self._awaiting or self._resend):
            # puback mode now (configuration, or the broker refused receipts):
            # what the broker acknowledged earlier is delivered too.
            self._note_fallback()
            for row_id in [*self._awaiting, *self._resend]:
                self._handed.pop(row_id, None)
                delivered.append(row_id)
            self._awaiting.clear()
            self._resend.clear()
            for held in [h for h in self._held.values() if h.acked_at is not None]:
                del self._held[held.message.seq]
                self.published += 1
        self._delete(delivered)

    def _held_acked(self, mid: int, now: float, receipts: bool) -> None:
        seq = self._held_mids.pop(mid, None)
        held = self._held.get(seq) if seq is not None else None
        if held is None or held.mid != mid:
            return
        held.mid = None
        if receipts:
            held.acked_at = now
        else:
            del self._held[held.message.seq]
            self.published += 1

    def _note_fallback(self) -> None:
        if self.session.receipts_refused and not self._refused_logged:
            self._refused_logged = True
            log.warning("no receipts on this connection: messages count as delivered on PUBACK")

    def take_receipt(self, receipt: fp.Receipt) -> None:
        ranges = [(lo, hi) for lo, hi in receipt.ranges]
        if receipt.boot == self.spool.boot:
            for seq in [s for s in self._held if any(lo <= s <= hi for lo, hi in ranges)]:
                held = self._held.pop(seq)
                if held.mid is not None:
                    self._held_mids.pop(held.mid, None)
                self.published += 1
        try:
            ids = self.spool.receipted(receipt.boot, ranges)
        except SpoolError as exc:
            self._failed(exc)
            if len(self._receipts) < _PENDING_RECEIPTS_MAX:
                self._receipts.append(receipt)
            return
        delivered = []
        for row_id in ids:
            if row_id in self._done:
                continue
            handed = self._handed.pop(row_id, None)
            if handed is not None and handed.mid is not None:
                in_flight = self._mids.get(handed.mid, [])
                if row_id in in_flight:
                    in_flight.remove(row_id)
                if not in_flight:
                    self._mids.pop(handed.mid, None)
            self._awaiting.pop(row_id, None)
            self._resend.pop(row_id, None)
            delivered.append(row_id)
        if delivered:
            self._timeout_level = 0  # the server is committing again
        self._delete(delivered)

    def _delete(self, ids: Iterable[int]) -> None:
        """Delivered: deleted from the spool by the next ``tick``."""
        chosen = list(ids)
        self.published += len(chosen)
        self._done.update(chosen)

    # -- sending ----------------------------------------------------------------------
    def dispatch(self) -> None:
        self._waiting = None
        session = self.session
        if not session.ready.is_set():
            self._offline_wall = self._clock()
            self._word_until = 0.0  # nothing to wait for offline (the agent sleeps)
            return
        if session.connects != self._seen_connects:
            self._seen_connects = session.connects
            self._connected()
        if self.receipts:
            self._check_timeouts()
        self._send_held()
        if not self.compact and self._monotonic() < self._word_until:
            return  # the backlog waits for the server's word (batches) a moment
        self._word_until = 0.0
        window = self._settings().inflight
        try:
            if self._send_again(window):
                self._send_new(window)
        except SpoolError as exc:
            log.debug("spool not readable: %s", exc)

    def _connected(self) -> None:
        """A new connection: what the broker acknowledged may be lost with it."""
        self._connected_wall = self._offline_wall
        self._refused_logged = False
        if self._accepted is not None and not self.compact:
            self._word_until = self._monotonic() + _WORD_WAIT_S
        for row_id in self._awaiting:
            self._resend[row_id] = None
        self._awaiting.clear()
        for held in self._held.values():
            held.acked_at = None  # sent again; one still in flight paho sends again itself

    def _check_timeouts(self) -> None:
        timeout = min(
            _MAX_TIMEOUT_S, self._settings().receipt_timeout_s * 2 ** min(self._timeout_level, 20)
        )
        timeout += self.receipt_hold[0]  # the server holds receipts that long
        limit = self._monotonic() - timeout
        expired = []
        for row_id, acked_at in self._awaiting.items():  # in PUBACK order
            if acked_at > limit:
                break
            expired.append(row_id)
        late = [h for h in self._held.values() if h.acked_at is not None and h.acked_at <= limit]
        if not (expired or late):
            return
        log.info(
            "%d messages without a receipt for %.0fs: sending them again",
            len(expired) + len(late),
            timeout,
        )
        self._timeout_level += 1
        for row_id in expired:
            del self._awaiting[row_id]
            self._resend[row_id] = None
        for held in late:
            held.acked_at = None

    def _send_held(self) -> None:
        for held in self._held.values():
            if held.mid is not None or held.acked_at is not None:
                continue
            m = held.message
            replay = held.sends > 0 or m.created_at < self._connected_wall
            mid = self.session.publish(m.topic, self._payload(m.topic, m.payload, replay))
            if mid is None:
                return
            held.mid = mid
            held.sends += 1
            self._held_mids[mid] = m.seq

    def _send_again(self, window: int) -> bool:
        """Send rows again (reconnect, timeout); True when none is left to send."""
        per = self.batch_policy.max_count if self.compact else 1
        while self._resend:
            room = window - len(self._mids)
            if room <= 0:
                return False
            chosen = list(self._resend)[: room * per]
            found = {row.id: row for row in self.spool.rows(chosen)}
            for row_id in chosen:
                if row_id not in found:  # dropped by the spool meanwhile
                    del self._resend[row_id]
                    self._handed.pop(row_id, None)
            rows = sorted(found.values(), key=lambda r: r.id)
            for group in self._groups(rows, complete=False):
                if len(self._mids) >= window or not self._send_group(group, replay=True):
                    return False
        return True

    def _send_new(self, window: int) -> None:
        per = self.batch_policy.max_count if self.compact else 1
        while True:
            limit = (window - len(self._mids)) * per
            if self.receipts:
                bound = max(self._settings().unreceipted_max, self.receipt_hold[1])
                limit = min(limit, bound - len(self._handed))
            if limit <= 0:
                return
            rows = self.spool.pending(after_id=self._cursor, limit=limit)
            if not rows:
                return
            for group in self._groups(rows, complete=len(rows) < limit):
                if len(self._mids) >= window or not self._send_group(group, replay=False):
                    return
            if self._waiting is not None:
                return  # the rest waits for more to go with it

    def _groups(self, rows: list[SpoolRow], *, complete: bool) -> list[list[SpoolRow]]:
        """One row per send in JSON; in batches once the server reads them."""
        if not self.compact:
            return [[row] for row in rows]
        now = self._clock()
        chosen = plan(
            rows, self.batch_policy, now, replay_before=self._connected_wall, complete=complete
        )
        self._waiting = None if chosen.waiting is None else chosen.waiting.created_at
        return chosen.sends

    def _send_group(self, rows: list[SpoolRow], *, replay: bool) -> bool:
        """Publish one message, or batchable ones as batches; False when paho
        takes no more (what was published of the group stays handed)."""
        items = [
            (
                r.topic,
                self._payload(r.topic, r.payload, replay or r.created_at < self._connected_wall),
            )
            for r in rows
        ]
        device = self.session.config.device_id
        parts: list[tuple[int, str, bytes]] = [(1, topic, payload) for topic, payload in items]
        if self.compact and batchable(rows[0].topic):
            try:
                parts = [(n, fp.batch_topic(device), p) for n, p in packed(device, items)]
            except fp.ProtocolError as exc:
                log.warning("messages sent one by one, not as a batch: %s", exc)
        start = 0
        for count, topic, payload in parts:
            mid = self.session.publish(topic, payload)
            if mid is None:
                return False
            sent = rows[start : start + count]
            start += count
            self._mids[mid] = [r.id for r in sent]
            for row in sent:
                self._handed[row.id] = _Handed(mid, legacy=row.boot is None)
                self._resend.pop(row.id, None)
                self._cursor = max(self._cursor, row.id)
        return True

    def _payload(self, topic: str, payload: bytes, replay: bool) -> bytes:
        """Mark a message that waited across an outage, or is sent again, as replay."""
        if not replay:
            return payload
        try:
            message = fp.decode(topic, payload)
        except fp.ProtocolError as exc:
            log.warning("spooled message on %s not marked replay: %s", topic[:120], exc)
            return payload
        now = datetime.fromtimestamp(self._clock(), UTC)
        return fp.encode(message.model_copy(update={"replay": True, "sent_at": now}))
