"""Sending commands and desired configuration from the API process.

The request that creates a command commits its row (state ``queued``) and its
audit row first, then publishes on the process's one MQTT connection and waits
a moment (``FLEET_COMMAND_PUBLISH_TIMEOUT_S``) for the broker's PUBACK; then
the command is ``sent``. If the broker is away the command simply stays
``queued`` and the request still succeeds (202).

A background thread, started with the publisher, finishes the rest:

- queued commands whose publish did not happen or was not acknowledged are
  published again (claimed with ``FOR UPDATE SKIP LOCKED`` so two API
  processes never take the same one), as soon as the broker is back and
  every ``FLEET_COMMAND_RETRY_INTERVAL_S``, as long as they have not expired,
  each time with the expiry interval it has *left*;
- a late PUBACK still marks its command ``sent``;
- the newest desired configuration of a board that the broker has not
  acknowledged is published again (retained).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from fleet_server.commands import storage as store
from fleet_server.commands.publisher import CommandPublisher, Delivery

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]


class CommandService:
    def __init__(
        self,
        pool: ConnectionPool[Any],
        publisher: CommandPublisher,
        *,
        clock: Callable[[], datetime],
        publish_timeout_s: float = 2.0,
        retry_interval_s: float = 5.0,
    ) -> None:
        self.pool = pool
        self.publisher = publisher
        self.clock = clock
        self.publish_timeout_s = publish_timeout_s
        self.retry_interval_s = retry_interval_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._lookups: list[threading.Thread] = []
        #: set when the last user closes: the start-up lookups stop looking
        self._closing = threading.Event()
        self._users = 0
        #: publishes waiting for their PUBACK: request id -> delivery
        self._unacked: dict[str, Delivery] = {}
        publisher.on_connect(self._wake.set)

    # -- lifecycle --------------------------------------------------------------------
    def ensure_running(self) -> None:
        """Connect the publisher and start the retry thread (once)."""
        with self._lock:
            if self._thread is not None:
                return
            self.publisher.start()
            self._thread = threading.Thread(
                target=self._loop, args=(self._stop,), name="command-retry", daemon=True
            )
            self._thread.start()

    def resume(self) -> None:
        """At start-up (each ``resume`` needs its ``close``): if an earlier
        process left commands or configuration unsent, start at once rather
        than at the first new command; and until the retry thread runs, look
        again every ``retry_interval_s``, for commands queued by something
        other than a request (the engine asks for a picture when a screen or
        camera incident opens). Looked up in a thread: start-up never waits
        for the database."""
        with self._lock:
            self._users += 1
            closing = self._closing

        def look() -> None:
            while self._thread is None:
                try:
                    with self.pool.connection(timeout=10) as conn:
                        backlog = store.has_backlog(conn, self.clock())
                except Exception as exc:  # the database may be away: look again
                    log.warning("could not look for unsent commands: %s", exc)
                    backlog = False
                if backlog:
                    self.ensure_running()
                    return
                if closing.wait(self.retry_interval_s):
                    return

        thread = threading.Thread(target=look, name="command-resume", daemon=True)
        self._lookups.append(thread)
        thread.start()

    def close(self) -> None:
        """Stop the retry thread and disconnect, once the last user is gone."""
        with self._lock:
            self._users = max(0, self._users - 1)
            if self._users:
                return
            lookups, self._lookups = self._lookups, []
            closing, self._closing = self._closing, threading.Event()
        closing.set()
        for lookup in lookups:
            lookup.join(10)
        with self._lock:
            thread, self._thread = self._thread, None
            stop, self._stop = self._stop, threading.Event()
        stop.set()
        self._wake.set()
        if thread is not None:
            thread.join(10)
        self.publisher.close()

    # -- called by requests (after their rows are committed) ----------------------------
    def dispatch(self, conn: Conn, command: store.CommandRecord) -> bool:
        """Publish a committed command; True when the broker acknowledged it
        in time (then it is marked ``sent`` on ``conn``)."""
        self.ensure_running()
        self.publisher.wait_started(self.publish_timeout_s)  # the first command after start-up
        delivery = self.publisher.publish_command(command.request(), self.clock())
        if delivery is None:
            store.release(conn, command.request_id)
            return False
        if delivery.wait(self.publish_timeout_s):
            self._record(conn, {command.request_id: delivery})
            return not delivery.no_subscribers
        with self._lock:
            self._unacked[command.request_id] = delivery  # a late PUBACK still counts
        return False

    def _record(self, conn: Conn, acknowledged: dict[str, Delivery]) -> None:
        """Acknowledged publishes: ``sent``, or still queued for a board that
        is not connected (MQTT 5 "no matching subscribers")."""
        now = self.clock()
        store.mark_sent(conn, [rid for rid, d in acknowledged.items() if not d.no_subscribers], now)
        store.mark_awaiting(conn, [rid for rid, d in acknowledged.items() if d.no_subscribers], now)

    def publish_desired(self, conn: Conn, board_id: str) -> bool:
        """Publish the board's newest desired configuration (retained) and
        wait for the PUBACK, under a per-board lock held until ``conn``'s
        transaction ends, so an older version can never be retained last."""
        self.ensure_running()
        self.publisher.wait_started(self.publish_timeout_s)
        store.lock_desired(conn, board_id)
        latest = store.latest_desired(conn, board_id)
        if latest is None:
            return False
        if latest.published_at is not None:
            return True
        delivery = self.publisher.publish_desired(latest.message(board_id))
        if delivery is None or not delivery.wait(self.publish_timeout_s):
            return False
        store.mark_published(conn, board_id, latest.version, self.clock())
        return True

    # -- the retry thread -------------------------------------------------------------
    def _loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            self._wake.wait(self.retry_interval_s)
            self._wake.clear()
            if stop.is_set():
                return
            try:
                self.sweep()
            except Exception as exc:  # the database may be away; try next round
                log.warning("command retry failed: %s", exc)

    def sweep(self) -> None:
        """One round: record late PUBACKs, publish what is still unsent."""
        self._record_late_acks()
        if not self.publisher.connected.is_set():
            return
        with self.pool.connection() as conn:
            claimed = store.claim_queued(
                conn, self.clock(), timedelta(seconds=self.publish_timeout_s)
            )
            conn.commit()
            waiting: list[tuple[str, Delivery]] = []
            for command in claimed:
                delivery = self.publisher.publish_command(command.request(), self.clock())
                if delivery is None:
                    store.release(conn, command.request_id)
                else:
                    waiting.append((command.request_id, delivery))
            acked = {rid: d for rid, d in waiting if d.wait(self.publish_timeout_s)}
            self._record(conn, acked)
            with self._lock:
                self._unacked.update({rid: d for rid, d in waiting if rid not in acked})
            conn.commit()
            if claimed:
                reached = sum(not d.no_subscribers for d in acked.values())
                log.info("retry: %d of %d queued commands sent", reached, len(claimed))
            boards = store.unpublished_boards(conn)
            conn.commit()
            for board_id in boards:
                self.publish_desired(conn, board_id)
                conn.commit()  # releases the board's lock

    def _record_late_acks(self) -> None:
        with self._lock:
            done = {rid: d for rid, d in self._unacked.items() if d.done.is_set()}
            for rid in done:
                del self._unacked[rid]
        acked = {rid: d for rid, d in done.items() if d.ok}
        if acked:
            with self.pool.connection() as conn:
                self._record(conn, acked)
