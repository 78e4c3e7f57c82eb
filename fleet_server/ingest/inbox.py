"""The hand-off from paho's network thread to ingest's writer thread.

The network thread only appends (a deque: atomic, no lock) and never waits:
a blocked network thread sends no keepalive. The writer is woken once a
batch is complete (or at its first message), not per message: waking a
thread per message costs two GIL hand-offs each, as much as the rest of the
writer's work (issue 20).

QoS 0 messages are not counted by the broker's flow control: beyond
``qos0_cap`` of them waiting, :meth:`Inbox.put` refuses them (the caller
counts them as dropped).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fleet_server.ingest.consumer import Inbound

_STOP = object()


class Inbox:
    def __init__(self, qos0_cap: int) -> None:
        self._items: deque[Inbound | object] = deque()
        #: set when the inbox holds _wake_at messages, or on stop
        self._arrived = threading.Event()
        self._wake_at = 1
        self._stopped = False
        self._qos0_cap = qos0_cap
        self._qos0_waiting = 0
        self._qos0_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    # -- network thread ---------------------------------------------------------------
    def put(self, item: Inbound) -> bool:
        """Append; False (and not kept) for a QoS 0 message beyond the cap."""
        if item.qos == 0:
            with self._qos0_lock:
                if self._qos0_waiting >= self._qos0_cap:
                    return False
                self._qos0_waiting += 1
        items = self._items
        items.append(item)
        if len(items) >= self._wake_at and not self._arrived.is_set():
            self._arrived.set()
        return True

    def stop(self) -> None:
        """Wake the writer: what came before is taken, then :meth:`take`
        reports the stop (what comes after stays unacknowledged)."""
        self._stopped = True
        self._items.append(_STOP)
        self._arrived.set()

    # -- writer thread ----------------------------------------------------------------
    def _wait_for(self, count: int, timeout: float) -> None:
        """Until the inbox holds ``count`` messages, at most ``timeout``."""
        self._wake_at = count
        self._arrived.clear()
        if len(self._items) < count and not self._stopped:
            self._arrived.wait(timeout)
        self._wake_at = 1

    def take(self, limit: int, delay_s: float, idle_s: float = 0.5) -> tuple[list[Inbound], bool]:
        """Up to ``limit`` messages in arrival order, waiting at most
        ``idle_s`` for the first and ``delay_s`` after it for the rest; and
        whether the stop came (every message before it is taken)."""
        items = self._items
        if not items:
            self._wait_for(1, idle_s)
        if items and len(items) < limit and delay_s > 0:
            deadline = time.monotonic() + delay_s
            self._wait_for(limit, delay_s)
            while len(items) < limit and not self._stopped:  # woken early by stop
                if (left := deadline - time.monotonic()) <= 0:
                    break
                self._wait_for(limit, left)
        batch: list[Inbound] = []
        stop = False
        for _ in range(min(limit, len(items))):
            item = items.popleft()
            if item is _STOP:
                stop = True
                break
            batch.append(item)  # type: ignore[arg-type]
        if qos0 := sum(item.qos == 0 for item in batch):
            with self._qos0_lock:
                self._qos0_waiting -= qos0
        return batch, stop
