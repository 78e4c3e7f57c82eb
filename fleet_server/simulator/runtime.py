"""Many simulated boards in one thread: one selector drives every board's
paho client (``loop_read``/``loop_write``/``loop_misc``), a timer heap drives
their collectors. No thread per board, so 10,000 boards fit on one machine.

Each board has its own MQTT session with the agent's semantics: a last will
(status lost, boot counter, fresh seq) set before every connection, a
retained birth on connect, then the messages taken while the link was down,
marked as replay. Readings come from the edge agent's own simulated
collectors reading a :class:`SimulatedBoard` that scenarios change.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import itertools
import logging
import random
import selectors
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

import fleet_protocol as fp
from edge_agent import __version__ as agent_version
from edge_agent.collectors import simulated_collectors
from edge_agent.errors import CollectorError
from edge_agent.simulation import SimulatedBoard
from fleet_server.simulator.boards import DEFAULT_INTERVALS, BoardSpec, SimBoard

log = logging.getLogger(__name__)


class Fleet:
    """The simulated boards and the one loop that runs them."""

    def __init__(
        self,
        specs: list[BoardSpec],
        host: str,
        port: int,
        *,
        intervals: dict[fp.TelemetryKind, float] | None = None,
        clock: Callable[[], float] = time.monotonic,
        battery_runtime_s: float = 4 * 3600,
        keepalive_s: int = 30,
        connect_rate: float = 500.0,
        seed: int = 0,
    ) -> None:
        self.host, self.port = host, port
        self.keepalive_s = keepalive_s
        self.connect_rate = connect_rate
        self._clock = clock
        self._rng = random.Random(seed)  # noqa: S311 - simulation
        self._selector = selectors.DefaultSelector()
        self._timers: list[tuple[float, int, Callable[[], None]]] = []
        self._tick = itertools.count()
        self.boards: dict[str, SimBoard] = {}
        for spec in specs:
            sim = SimulatedBoard(
                seed=self._rng.randrange(2**31),
                clock=clock,
                battery_full_runtime_s=battery_runtime_s,
                cameras=dict.fromkeys(spec.cameras, True),
            )
            board = SimBoard(
                spec,
                sim,
                simulated_collectors(sim),
                dict(intervals or DEFAULT_INTERVALS),
                boot=spec.boot,
                seq=spec.seq,
            )
            self.boards[spec.device_id] = board
        self.sent = 0  # PUBACKs received, all message kinds
        self.telemetry_published = 0  # telemetry messages handed to paho
        self.stopping = False

    # -- timers -----------------------------------------------------------------------
    def call_at(self, when: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._timers, (when, next(self._tick), action))

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        self.call_at(self._clock() + delay, action)

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> None:
        """Schedule every board's connection (spread out) and collections."""
        now = self._clock()
        for i, board in enumerate(self.boards.values()):
            self.call_at(now + i / self.connect_rate, functools.partial(self._connect, board))
            for kind, interval in board.intervals.items():
                first = now + self._rng.uniform(0, interval)
                self.call_at(first, functools.partial(self._collect, board, kind))
        self.call_later(1.0, self._misc)

    def run(self, should_stop: Callable[[], bool]) -> None:
        while not should_stop():
            self.run_once()

    def run_once(self, max_wait: float = 0.2) -> None:
        now = self._clock()
        while self._timers and self._timers[0][0] <= now:
            _, _, action = heapq.heappop(self._timers)
            try:
                action()
            except Exception:  # one board's fault never stops the fleet
                log.exception("simulator step failed")
        wait = max_wait if not self._timers else max(0.0, min(max_wait, self._timers[0][0] - now))
        if not self._selector.get_map():
            time.sleep(wait)
            return
        for key, mask in self._selector.select(wait):
            client: mqtt.Client = key.data
            try:
                if mask & selectors.EVENT_READ:
                    client.loop_read()
                if mask & selectors.EVENT_WRITE:
                    client.loop_write()
            except Exception:
                log.exception("simulator network step failed")

    def _drain(self, seconds: float) -> None:
        """Run the network until every connected board's messages are acknowledged."""
        deadline = self._clock() + seconds
        while self._clock() < deadline and any(
            b.unacked for b in self.boards.values() if b.connected
        ):
            self.run_once(0.05)

    def stop(self) -> None:
        """Clean shutdown of every board: what is in flight is delivered, then
        the "offline" state, then DISCONNECT."""
        self.stopping = True
        self._drain(10)
        for board in self.boards.values():
            if board.client is not None and board.connected:
                topic, payload = self._state(board, "offline", "simulator stopped")
                board.unacked += 1
                board.client.publish(topic, payload, qos=1, retain=True)
        self._drain(5)
        for board in self.boards.values():
            if board.client is not None and board.connected:
                board.client.disconnect()
        deadline = self._clock() + 5
        while self._selector.get_map() and self._clock() < deadline:
            self.run_once(0.05)
        for key in list(self._selector.get_map().values()):
            self._selector.unregister(key.fileobj)
        self._selector.close()

    def _misc(self) -> None:
        for board in self.boards.values():
            if board.client is not None:
                board.client.loop_misc()
        self.call_later(1.0, self._misc)

    # -- MQTT -------------------------------------------------------------------------
    def _state(
        self,
        board: SimBoard,
        status: Literal["online", "offline", "lost"],
        reason: str | None = None,
        seq: int | None = None,
    ) -> tuple[str, bytes]:
        now = datetime.now(UTC)
        message = fp.StateMessage(
            schema_version=1,
            device_id=board.device_id,
            boot=board.boot,
            seq=board.next_seq() if seq is None else seq,
            measured_at=now,
            sent_at=now,
            data=fp.StateData(
                status=status,
                agent_version=agent_version,
                reason=reason,
                heartbeat_interval_s=max(1, round(board.intervals[fp.TelemetryKind.HEARTBEAT])),
            ),
        )
        return fp.state_topic(board.device_id), fp.encode(message)

    def _client(self, board: SimBoard) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=board.device_id,
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        client.username_pw_set(board.device_id)
        client.max_queued_messages_set(0)
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        client.on_connect = lambda c, u, f, rc, p: self._on_connect(board, rc)
        client.on_disconnect = lambda c, u, f, rc, p: self._on_disconnect(board)
        client.on_publish = lambda c, u, mid, rc, p: self._on_publish(board)
        return client

    def _connect(self, board: SimBoard) -> None:
        if not (board.powered and board.link_up) or board.connected or self.stopping:
            return
        if board.client is None:
            board.client = self._client(board)
        # Birth seq before will seq, as the agent does (see edge_agent.session).
        board.birth_seq = board.next_seq()
        topic, payload = self._state(board, "lost", "connection lost (last will)")
        board.client.will_set(topic, payload, qos=1, retain=True)
        board.attempts += 1
        try:
            board.client.connect(self.host, self.port, keepalive=self.keepalive_s)
        except OSError as exc:
            log.debug("%s cannot connect: %s", board.device_id, exc)
            self._schedule_reconnect(board)

    def _schedule_reconnect(self, board: SimBoard) -> None:
        delay = self._rng.uniform(0, min(30.0, 2 ** min(board.attempts, 5)))
        self.call_later(delay, lambda: self._connect(board))

    def _on_connect(self, board: SimBoard, reason: Any) -> None:
        if reason.is_failure:
            log.warning("%s refused: %s", board.device_id, reason)
            return
        board.connected = True
        board.connects += 1
        board.attempts = 0
        assert board.client is not None
        topic, payload = self._state(board, "online", seq=board.birth_seq)
        board.unacked += 1
        board.client.publish(topic, payload, qos=1, retain=True)
        while board.backlog:
            model, topic, data, measured_at = board.backlog.popleft()
            self._publish(board, model, topic, data, measured_at, replay=True)

    def _on_disconnect(self, board: SimBoard) -> None:
        board.connected = False
        if board.powered and board.link_up:
            self._schedule_reconnect(board)

    def _on_publish(self, board: SimBoard) -> None:
        board.published += 1
        board.unacked -= 1
        self.sent += 1

    def _socket_open(self, client: mqtt.Client, _u: object, sock: Any) -> None:
        self._selector.register(sock, selectors.EVENT_READ, client)

    def _socket_close(self, _c: mqtt.Client, _u: object, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)

    def _register_write(self, client: mqtt.Client, _u: object, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)

    def _unregister_write(self, client: mqtt.Client, _u: object, sock: Any) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self._selector.modify(sock, selectors.EVENT_READ, client)

    def drop_link(self, board: SimBoard) -> None:
        """The TCP connection dies without DISCONNECT (the broker sends the will)."""
        board.connected = False
        sock = board.client.socket() if board.client is not None else None
        if sock is not None:
            if isinstance(sock, socket.socket):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            board.client.loop_read()  # type: ignore[union-attr]  # notices the dead socket

    # -- board control (scenarios) ----------------------------------------------------
    def set_link(self, board: SimBoard, up: bool) -> None:
        board.link_up = up
        board.sim.uplink_up = up
        if not up:
            self.drop_link(board)
        else:
            self._connect(board)

    def power_off(self, board: SimBoard) -> None:
        board.powered = False
        self.drop_link(board)
        board.backlog.clear()  # the controller is off: nothing is measured

    def power_on(self, board: SimBoard) -> None:
        """A cold start: a new boot, a new session."""
        board.powered = True
        board.boot += 1
        board.seq = 0
        board.sim.mains = True
        self._connect(board)

    # -- collecting -------------------------------------------------------------------
    def _collect(self, board: SimBoard, kind: fp.TelemetryKind) -> None:
        if self.stopping:
            return
        self.call_later(board.intervals[kind], lambda: self._collect(board, kind))
        if not board.powered or board.stuck:
            return
        board.sim.advance()
        if board.sim.battery_dead:
            self.power_off(board)
            return
        try:
            data = board.collectors[kind].collect()
        except CollectorError:
            return
        topic = fp.telemetry_topic(board.device_id, kind)
        model = fp.TELEMETRY_MODELS[kind]
        now = datetime.now(UTC)
        if board.connected:
            self._publish(board, model, topic, data, now)
        else:
            board.backlog.append((model, topic, data, now))

    def _publish(
        self,
        board: SimBoard,
        model: type[Any],
        topic: str,
        data: Any,
        measured_at: datetime,
        *,
        replay: bool = False,
    ) -> None:
        assert board.client is not None
        if model.KIND is not None:
            self.telemetry_published += 1
        board.unacked += 1
        message = model(
            schema_version=1,
            device_id=board.device_id,
            boot=board.boot,
            seq=board.next_seq(),
            measured_at=measured_at,
            sent_at=datetime.now(UTC),
            replay=replay,
            data=data,
        )
        board.client.publish(topic, fp.encode(message), qos=1)

    def emit_event(self, board: SimBoard, event_type: str, severity: str, message: str) -> None:
        if board.connected:
            data = fp.EventData(
                type=event_type,
                severity=severity,  # type: ignore[arg-type]
                message=message,
            )
            self._publish(
                board,
                fp.EventMessage,
                fp.event_topic(board.device_id, event_type),
                data,
                datetime.now(UTC),
            )

    def connected_count(self) -> int:
        return sum(1 for b in self.boards.values() if b.connected)
