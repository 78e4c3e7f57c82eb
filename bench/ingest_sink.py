"""The bare sink: bench.ingest's same-run baseline for one ingest process.

One paho-mqtt subscriber that connects and subscribes as ingest does (MQTT 5,
persistent session, ingest's receive maximum and session expiry, the
server's topic filters behind a shared subscription, QoS 1), parses each
payload with ``json.loads`` and nothing else, and lets paho acknowledge
automatically. What ingest adds on top (validation, batching, COPY, commit,
ack after commit) is the gap between the two figures.

Run as ``python -m bench.ingest_sink --port P --expect N``; it speaks to
bench.ingest over its stdin/stdout:

- ``ready`` once the broker has confirmed its subscriptions;
- ``done`` the moment it holds every expected message (the CPU window ends);
- one JSON line with its counts and latencies;
- then it waits for its stdin to close, unsubscribes and ends its session
  (session expiry 0 on DISCONNECT), so nothing stays queued for it.

If no new message arrives for ``--stall`` seconds it prints a JSON line with
``error`` and exits with status 3.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from fleet_protocol import subscription_filters
from fleet_server.settings import Settings

REPO = Path(__file__).resolve().parents[1]
# The sink's own shared group: its session can never take ingest's messages.
SINK_GROUP = "bench-sink"


class SinkFailed(RuntimeError):
    """The bare sink did not receive every message, or died."""


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return values[min(len(values) - 1, int(q * len(values)))]


def _filters(group: str) -> list[str]:
    return [f"$share/{group}/{f}" for f in subscription_filters()]


def presubscribe(port: int, client_id: str) -> None:
    """Create ingest's persistent session (subscribed, as ingest subscribes) for
    ``client_id`` before ingest starts: nothing published while it starts up
    is dropped for want of a subscriber; the broker queues it for ingest."""
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_subscribe = lambda *_: subscribed.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = _default("ingest_session_expiry_s")
    client.connect("127.0.0.1", port, clean_start=True, properties=props)
    client.loop_start()
    client.subscribe([(f, 1) for f in _filters(_default("ingest_shared_group"))])
    ok = subscribed.wait(30)
    client.disconnect()
    client.loop_stop()
    if not ok:
        raise SinkFailed(f"no SUBACK for {client_id}'s session")


def end_session(port: int, client_id: str) -> None:
    """Discard ``client_id``'s session and what the broker queued for it (a
    clean start, then session expiry 0): the next round starts from nothing."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 0
    client.connect("127.0.0.1", port, clean_start=True, properties=props)
    client.loop_start()
    client.disconnect()
    client.loop_stop()


def sink(port: int, expect: int, stall: float, client_id: str) -> int:
    received: list[tuple[float, str]] = []
    seen: set[tuple[str, int]] = set()
    subscribed, done = threading.Event(), threading.Event()

    def on_message(_c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        data = json.loads(msg.payload)
        received.append((time.time(), data["sent_at"]))
        seen.add((data["device_id"], data["seq"]))
        if len(seen) >= expect:
            done.set()

    def on_subscribe(_c: mqtt.Client, _u: object, _m: int, reasons: list[Any], _p: object) -> None:
        if not any(r.is_failure for r in reasons):
            subscribed.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.on_connect = lambda c, *_: c.subscribe([(f, 1) for f in _filters(SINK_GROUP)])
    client.max_queued_messages_set(0)
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = _default("ingest_session_expiry_s")
    props.ReceiveMaximum = _default("ingest_receive_maximum")
    client.connect(
        "127.0.0.1",
        port,
        keepalive=_default("ingest_keepalive_s"),
        clean_start=False,
        properties=props,
    )
    client.loop_start()
    if not subscribed.wait(30):
        print(json.dumps({"error": "the broker did not confirm the subscriptions"}), flush=True)
        return 3
    print("ready", flush=True)
    last_count, last_change = 0, time.time()
    while not done.wait(0.2):
        if len(received) != last_count:
            last_count, last_change = len(received), time.time()
        elif time.time() - last_change > stall:
            error = f"stalled: {len(seen)} of {expect} messages after {stall:g} s without one"
            print(json.dumps({"error": error}), flush=True)
            return 3
    print("done", flush=True)
    sent = [datetime.fromisoformat(stamp).timestamp() for _, stamp in received]
    latencies = sorted((r - s) * 1000 for (r, _), s in zip(received, sent, strict=True))
    result = {
        "received": len(received),
        "distinct": len(seen),
        "first_sent": min(sent),
        "last_received": received[-1][0],
        "latency_p50_ms": _percentile(latencies, 0.5),
        "latency_p99_ms": _percentile(latencies, 0.99),
    }
    print(json.dumps(result), flush=True)
    sys.stdin.read()  # bench.ingest has read the CPU figures
    client.unsubscribe(_filters(SINK_GROUP))
    end = Properties(PacketTypes.DISCONNECT)  # type: ignore[no-untyped-call]
    end.SessionExpiryInterval = 0
    client.disconnect(properties=end)
    client.loop_stop()
    return 0


class SinkProcess:
    """bench.ingest's handle on a running sink process."""

    def __init__(self, port: int, expect: int, stall: float) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.ingest_sink",
                "--port",
                str(port),
                "--expect",
                str(expect),
                "--stall",
                str(stall),
                "--client-id",
                f"bench-sink-{os.getpid()}-{time.monotonic_ns()}"[:64],
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        self.finished = False  # its result line has been read
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line.strip())
        self._lines.put("")  # end of output

    def next_line(self, timeout: float) -> str | None:
        """The sink's next line, None when none came within ``timeout``."""
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            return None
        if line.startswith("{") and "error" in (data := json.loads(line)):
            raise SinkFailed(f"bare sink: {data['error']}")
        if not line:
            raise SinkFailed(f"bare sink exited with status {self.proc.wait(10)}")
        self.finished = line.startswith("{")
        return line

    def close(self) -> None:
        """End the sink: cleanly (its session ended) after its result, else at once."""
        if not self.finished and self.proc.poll() is None:
            self.proc.terminate()
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True, help="the broker's port on 127.0.0.1")
    parser.add_argument("--expect", type=int, required=True, help="distinct messages to receive")
    parser.add_argument("--stall", type=float, default=15.0, help="seconds without a message")
    parser.add_argument("--client-id", default=f"bench-sink-{os.getpid()}")
    args = parser.parse_args()
    sys.exit(sink(args.port, args.expect, args.stall, args.client_id))


if __name__ == "__main__":
    main()
