"""Counting the agent's bytes on the link (docs/agent.md, "Data usage").

The MQTT session hands the meter its socket when paho opens it and just
before paho closes it (paho's public ``on_socket_open`` / ``on_socket_close``
callbacks), and lets it look at the socket from its network loop; the meter
reads the kernel's counters (``tcpinfo``) at most every ``SAMPLE_EVERY_S``
and when the socket closes, and adds what grew since the last look to the
ledger. A new connection counts from zero again. Where the kernel gives no
counters, the session's payload sizes are counted instead (``mqtt_sent`` /
``mqtt_received``, plus an estimate of the MQTT and TCP/IP headers).

The main thread reads the report, and calls ``tick`` every turn of its loop:
once a minute the adaptive mode looks at the month and the ledger is saved.
Everything is taken under one lock: the network thread and the main thread
(and an updater's download thread) all count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import fleet_protocol as fp
import fleet_protocol.usage as fu
from edge_agent.usage import tcpinfo
from edge_agent.usage.adaptive import Throttle
from edge_agent.usage.ledger import Ledger
from fleet_protocol.remote_config import DataBudget

SAMPLE_EVERY_S = 2.0
TICK_EVERY_S = 60.0
#: Payload counting: an MQTT PUBLISH's fixed header, topic length and packet
#: id, its PUBACK, and a TCP/IP segment's headers each way.
PUBLISH_OVERHEAD = 2 + 2 + 2 + 2 * tcpinfo.HEADER_BYTES_IPV4
ACK_BYTES = 4 + tcpinfo.HEADER_BYTES_IPV4

#: The running agent's meter, the one ``count_http`` counts with (at most one).
_active: list[DataMeter] = []
_active_lock = threading.Lock()


def count_http(received: int, sent: int = 0) -> None:
    """Count an HTTP transfer of the agent (bytes on the link, headers
    included as far as the caller knows them) against the running agent's
    data usage. Does nothing when no agent runs in this process."""
    with _active_lock:
        meters = list(_active)
    for meter in meters:
        meter.count(sent, received)


class DataMeter:
    def __init__(
        self,
        path: Path | None,
        budget: Callable[[], DataBudget],
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        tcp_info: bool | None = None,
    ) -> None:
        """``tcp_info``: whether the kernel gives TCP counters (None: ask it)."""
        self._lock = threading.Lock()
        self._clock = clock
        self._monotonic = monotonic
        self._budget = budget
        self.ledger = Ledger(path, clock)
        self.throttle = Throttle(self.ledger.factor)
        self.tcp_info = tcpinfo.supported() if tcp_info is None else tcp_info
        self._sock: object | None = None
        self._last = tcpinfo.Counters(0, 0)
        self._next_sample = 0.0
        self._next_tick = monotonic() + TICK_EVERY_S

    # -- the MQTT session's socket (network thread) -----------------------------------
    def opened(self, sock: object) -> None:
        with self._lock:
            self._sock, self._last = sock, tcpinfo.Counters(0, 0)
            self._sample_locked(sock)

    def poll(self, sock: object) -> None:
        now = self._monotonic()
        if now < self._next_sample or sock is None:
            return
        self._next_sample = now + SAMPLE_EVERY_S
        with self._lock:
            self._sample_locked(sock)

    def closed(self, sock: object) -> None:
        """Just before the socket closes: its last bytes."""
        with self._lock:
            self._sample_locked(sock)
            self._sock = None

    def _sample_locked(self, sock: object) -> None:
        if not self.tcp_info:
            return
        if sock is not self._sock:  # a socket we were not told about: from zero
            self._sock, self._last = sock, tcpinfo.Counters(0, 0)
        counters = tcpinfo.read(sock)
        if counters is None:
            return
        self.ledger.add(counters.sent - self._last.sent, counters.received - self._last.received)
        self._last = tcpinfo.Counters(
            max(counters.sent, self._last.sent), max(counters.received, self._last.received)
        )

    def mqtt_sent(self, topic: str, payload: bytes) -> None:
        """A message handed to paho (payload counting only)."""
        if not self.tcp_info:
            self.count(len(topic) + len(payload) + PUBLISH_OVERHEAD, ACK_BYTES)

    def mqtt_received(self, topic: str, payload: bytes | bytearray) -> None:
        if not self.tcp_info:
            self.count(ACK_BYTES, len(topic) + len(payload) + PUBLISH_OVERHEAD)

    def count(self, sent: int, received: int) -> None:
        with self._lock:
            self.ledger.add(sent, received)

    # -- the main thread --------------------------------------------------------------
    def report(self) -> fu.DataUsage:
        with self._lock:
            self.ledger.factor = self.throttle.factor
            return self.ledger.report("tcp_info" if self.tcp_info else "payload")

    def scale(self, kind: fp.TelemetryKind) -> int:
        """What ``kind``'s reporting interval is multiplied by now (adaptive mode)."""
        return self.throttle.scale(kind)

    def tick(self, *, force: bool = False) -> None:
        """Once a minute (or when ``force``d): the adaptive mode, then save."""
        now = self._monotonic()
        if now < self._next_tick and not force:
            return
        self._next_tick = now + TICK_EVERY_S
        at = datetime.fromtimestamp(self._clock(), UTC)
        budget = self._budget()
        with self._lock:
            month = fu.month_of(self.ledger.current_day())
            self.ledger.factor = self.throttle.evaluate(
                at, month, self.ledger.month_total(), budget
            )
            self.ledger.save()

    def activate(self) -> None:
        """Make this the meter ``count_http`` counts with."""
        with _active_lock:
            _active[:] = [self]

    def close(self) -> None:
        with _active_lock:
            if self in _active:
                _active.remove(self)
        with self._lock:
            self.ledger.factor = self.throttle.factor
            self.ledger.save()
