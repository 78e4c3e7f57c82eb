"""A multi-board load generator that behaves like the edge agent, for the
drill whose rate real agents cannot produce on two cores (thousands of
messages a second).

N boards share K MQTT 3.1.1 connections (QoS 1, clean session, like the
agent). Every message is spooled (in memory: the publisher itself is never
killed in a drill) before it is handed to paho, with at most ``--window``
unacknowledged per connection; paho sends again what was in flight after a
reconnect, as for the agent. ``--delivery puback`` deletes a message at its
PUBACK (the agent today); ``--delivery receipt`` deletes it only when ingest's
delivery receipt (``fleet/v1/<id>/receipt``) names it, and sends every
unreceipted message again after a reconnect.

Message n goes to board ``n % N`` with seq ``n // N`` (boot 1). The ledger
file gets one line per generation tick, ``<wall time> <first n> <last n>``;
SIGUSR1 stops generating, SIGTERM writes ``<ledger>.json`` (generated,
still spooled) and exits.

    python -m bench.drill_publisher --port 1883 --boards 100 --rate 5000 --ledger load.txt
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

import fleet_protocol as fp
from edge_agent.stop_signal import relay_signals

TEMPLATE = (
    '{"schema_version":1,"device_id":"%s","boot":1,"seq":%d,'
    '"measured_at":"%s","sent_at":"%s","replay":false,'
    '"data":{"uptime_s":%d,"agent_version":"0.1.0","cpu_percent":12.5,'
    '"memory_percent":41.0,"disk_percent":30.2,"temperature_c":47.5,"clock_synced":true}}'
)
TICK_S = 0.02


def board_names(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{i:04d}" for i in range(count)]


class Connection:
    """One MQTT connection carrying a share of the boards, with their spool.

    As in the agent, paho's thread only hands over acknowledgements,
    receipts and connections (deques); the spool is the main thread's."""

    def __init__(
        self,
        index: int,
        port: int,
        *,
        window: int,
        boards: dict[str, int],
        total: int,
        receipts: bool,
    ) -> None:
        self.boards = boards  # name -> board number over all connections
        self.total = total
        self.receipts = receipts
        self.window = window
        self.spool: dict[int, tuple[str, bytes]] = {}  # n -> (topic, payload), unconfirmed
        self.unsent: deque[int] = deque()
        self.inflight: dict[int, int] = {}  # paho mid -> n
        self.acked: deque[int] = deque()
        self.receipts_in: deque[fp.Receipt] = deque()
        self.connected = threading.Event()
        self.connects = 0
        self._seen_connects = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"drill-load-{index}",
            protocol=MQTTProtocolVersion.MQTTv311,
            clean_session=True,
        )
        self.client.max_inflight_messages_set(window)
        self.client.max_queued_messages_set(0)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_publish = self._on_publish
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 8)
        self.client.connect_async("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def add(self, n: int, topic: str, payload: bytes) -> None:
        self.spool[n] = (topic, payload)
        self.unsent.append(n)

    def dispatch(self) -> None:
        """Take acknowledgements and receipts, then publish what fits the window."""
        while self.acked:
            n = self.inflight.pop(self.acked.popleft(), None)
            if n is not None and not self.receipts:
                self.spool.pop(n, None)
        while self.receipts_in:
            receipt = self.receipts_in.popleft()
            board = self.boards.get(receipt.device_id)
            if board is None or receipt.boot != 1:
                continue
            for low, high in receipt.ranges:
                for seq in range(low, high + 1):
                    self.spool.pop(seq * self.total + board, None)
        if self.receipts and self.connects != self._seen_connects:
            self._seen_connects = self.connects
            # PUBACKed but never receipted: send again after a reconnect (paho
            # sends again by itself what still waited for its PUBACK).
            flying = set(self.inflight.values())
            queued = set(self.unsent)
            again = [n for n in self.spool if n not in flying and n not in queued]
            self.unsent.extendleft(reversed(again))
        while self.connected.is_set() and self.unsent and len(self.inflight) < self.window:
            n = self.unsent.popleft()
            if n not in self.spool:
                continue
            topic, payload = self.spool[n]
            info = self.client.publish(topic, payload, qos=1)
            if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
                self.unsent.appendleft(n)
                return
            self.inflight[info.mid] = n

    # -- paho thread --------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            return
        if self.receipts:
            # a clean session: the subscriptions are made again each time
            client.subscribe([(fp.receipt_topic(name), 1) for name in self.boards])
        self.connects += 1
        self.connected.set()

    def _on_disconnect(self, *_args: Any) -> None:
        self.connected.clear()

    def _on_publish(self, _c: Any, _u: Any, mid: int, _r: Any, _p: Any) -> None:
        self.acked.append(mid)

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            receipt = fp.decode(msg.topic, bytes(msg.payload))
        except fp.ProtocolError:
            return
        if isinstance(receipt, fp.Receipt):
            self.receipts_in.append(receipt)


def _stamp() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run(args: argparse.Namespace) -> None:
    names = board_names(args.prefix, args.boards)
    k = min(args.clients, len(names))
    conns: list[Connection] = []
    for c in range(k):
        mine = {names[b]: b for b in range(c, len(names), k)}
        conns.append(
            Connection(
                c,
                args.port,
                window=args.window,
                boards=mine,
                total=len(names),
                receipts=args.delivery == "receipt",
            )
        )
    for conn in conns:
        conn.connected.wait(30)
    generating = threading.Event()
    generating.set()
    done = threading.Event()
    # As in the agent, the handlers only write to a pipe (edge_agent.stop_signal):
    # the loop below never holds these events' locks today, but one that waited
    # on ``done`` would, and a handler setting it would then hang the drill.
    relay_signals(
        {signal.SIGUSR1: lambda _sig: generating.clear(), signal.SIGTERM: lambda _sig: done.set()}
    )
    topics = [fp.telemetry_topic(name, fp.TelemetryKind.HEARTBEAT) for name in names]
    owner = [conns[b % k] for b in range(len(names))]
    count = len(names)
    n = 0
    t0 = time.monotonic()
    with Path(args.ledger).open("w") as ledger:
        while not done.is_set():
            if generating.is_set():
                due = int(args.rate * (time.monotonic() - t0))
                if due > n:
                    stamp = _stamp()
                    first = n
                    for m in range(n, due):
                        board, seq = m % count, m // count
                        payload = TEMPLATE % (names[board], seq, stamp, stamp, seq)
                        owner[board].add(m, topics[board], payload.encode())
                    n = due
                    ledger.write(f"{time.time():.3f} {first} {n - 1}\n")
                    ledger.flush()
            for conn in conns:
                conn.dispatch()
            time.sleep(TICK_S)
    pending = sorted(m for conn in conns for m in conn.spool)
    for conn in conns:
        conn.client.disconnect()
        conn.client.loop_stop()
    Path(f"{args.ledger}.json").write_text(
        json.dumps(
            {
                "boards": names,
                "generated": n,
                "spooled": pending,
                "connects": [c.connects for c in conns],
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--boards", type=int, default=100)
    parser.add_argument("--prefix", default="lc-load")
    parser.add_argument("--rate", type=float, default=5000, help="messages/s over all boards")
    parser.add_argument("--clients", type=int, default=4, help="MQTT connections")
    parser.add_argument("--window", type=int, default=1000, help="unacknowledged per connection")
    parser.add_argument("--delivery", choices=["puback", "receipt"], default="puback")
    parser.add_argument("--ledger", required=True)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
