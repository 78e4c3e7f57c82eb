"""bench.ingest's load: K publishers, each one device stream at QoS 1.

``mosquitto_pub`` (default): K ``mosquitto_pub -l`` processes (C) fed with
lines stamped at the moment they are handed over, paced to ``rate`` in total.
Their stdin stays open until :meth:`Publishers.finish`: mosquitto_pub 2.0 may
exit on EOF before its queued messages are all sent.

``paho``: K Python processes, each publishing for ``devices`` devices. A
publisher keeps at most ``window`` messages without PUBACK (a semaphore
released by ``on_publish``): it waits rather than overrun paho's 65,535
message ids (``MQTT_ERR_QUEUE_SIZE``) and never drops a message.

Any publish error, lost connection or non-zero exit raises
:class:`PublisherFailed`: a failed publisher fails the run, its unsent
messages are never counted as lost.
"""

from __future__ import annotations

import multiprocessing as mp
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as MpEvent
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

TEMPLATE = (
    '{"schema_version":1,"device_id":"%s","boot":1,"seq":%d,'
    '"measured_at":"%s","sent_at":"%s","replay":false,'
    '"data":{"uptime_s":%d,"agent_version":"0.1.0","cpu_percent":12.5,'
    '"memory_percent":41.0,"disk_percent":30.2,"temperature_c":47.5,"clock_synced":true}}'
)
PUBACK_TIMEOUT_S = 60.0


class PublisherFailed(RuntimeError):
    """A publisher could not publish everything it was given."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Plan:
    kind: str  # "mosquitto_pub" or "paho"
    port: int
    per: int  # messages per publisher
    publishers: int
    rate: float = 0.0  # msgs/s in total, 0 = as fast as acknowledged
    devices: int = 500  # devices per paho publisher
    window: int = 1000  # paho: messages in flight per publisher
    fail_after: int | None = None  # paho: raise after this many (tests)

    @property
    def total(self) -> int:
        return self.per * self.publishers


def _paho_publish(index: int, plan: Plan, events: tuple[MpEvent, MpEvent, MpEvent]) -> None:
    ready, start, stop = events
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{index}", protocol=mqtt.MQTTv311
    )
    client.max_inflight_messages_set(plan.window)
    client.max_queued_messages_set(0)
    slots = threading.Semaphore(plan.window)
    problems: list[str] = []
    connected, finished = threading.Event(), threading.Event()

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if reason.is_failure:
            problems.append(f"the broker refused the connection: {reason}")
        connected.set()

    def on_disconnect(_c: mqtt.Client, _u: object, _f: object, reason: Any, _p: object) -> None:
        if not finished.is_set():
            problems.append(f"lost the broker: {reason}")
            slots.release()  # wake the publishing loop

    client.on_connect = on_connect
    client.on_disconnect = on_disconnect
    client.on_publish = lambda *_: slots.release()
    client.connect("127.0.0.1", plan.port, keepalive=60)
    client.loop_start()
    if not connected.wait(30) or problems:
        raise PublisherFailed(problems[0] if problems else "no CONNACK within 30 s")
    names = [f"bench-{index}-{d:04d}" for d in range(plan.devices)]
    topics = [f"fleet/v1/{n}/telemetry/heartbeat" for n in names]
    pace = plan.rate / plan.publishers if plan.rate > 0 else 0.0
    ready.set()
    start.wait()
    t0 = time.time()
    for i in range(plan.per):
        if not slots.acquire(timeout=PUBACK_TIMEOUT_S):
            raise PublisherFailed(f"no PUBACK for {PUBACK_TIMEOUT_S:g} s after {i} messages")
        if problems:
            raise PublisherFailed(f"{problems[0]} after {i} messages")
        if plan.fail_after is not None and i == plan.fail_after:
            raise PublisherFailed(f"told to fail after {i} messages")
        d, seq = i % plan.devices, i // plan.devices + 1
        stamp = now_iso()
        info = client.publish(topics[d], TEMPLATE % (names[d], seq, stamp, stamp, seq), 1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise PublisherFailed(f"message {i}: {mqtt.error_string(info.rc)}")
        if pace and i % 50 == 49 and (ahead := (i + 1) / pace - (time.time() - t0)) > 0:
            time.sleep(ahead)
    for _ in range(plan.window):  # every message acknowledged
        if not slots.acquire(timeout=PUBACK_TIMEOUT_S) or problems:
            raise PublisherFailed(problems[0] if problems else "PUBACKs missing at the end")
    stop.wait()  # alive until the phase ends: its CPU is read then
    finished.set()
    client.disconnect()
    client.loop_stop()


def paho_publisher(
    index: int, plan: Plan, events: tuple[MpEvent, MpEvent, MpEvent], errors: Any
) -> None:
    """A paho publisher process (``events``: ready, start, stop); exits 1 with
    its error in ``errors`` on failure."""
    try:
        _paho_publish(index, plan, events)
    except Exception as exc:  # reported to the parent, then exit 1
        errors.put(f"paho publisher {index}: {exc}")
        raise SystemExit(1) from None


@dataclass
class Publishers:
    """One round of publishing: :meth:`start` (connected), :meth:`go`,
    :meth:`check` while waiting, :meth:`finish` at the end (raises on failure),
    :meth:`kill` on the way out."""

    plan: Plan
    failures: list[str] = field(default_factory=list)
    _procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _workers: list[mp.process.BaseProcess] = field(default_factory=list)
    _start: MpEvent | None = None
    _stop: MpEvent | None = None
    _errors: Any = None
    _feeder: threading.Thread | None = None

    def start(self) -> None:
        p = self.plan
        if p.kind == "paho":
            ctx = mp.get_context("spawn")
            self._start, self._stop, self._errors = ctx.Event(), ctx.Event(), ctx.SimpleQueue()
            readies = [ctx.Event() for _ in range(p.publishers)]
            for i, ready in enumerate(readies):
                worker = ctx.Process(
                    target=paho_publisher,
                    args=(i, p, (ready, self._start, self._stop), self._errors),
                )
                worker.start()
                self._workers.append(worker)
            for ready in readies:
                while not ready.wait(0.2):
                    self.check()
            return
        for i in range(p.publishers):
            argv = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(p.port), "-q", "1", "-l"]
            topic = f"fleet/v1/bench-{i:03d}/telemetry/heartbeat"
            argv += ["-i", f"bench-pub-{i}", "-t", topic]
            self._procs.append(subprocess.Popen(argv, stdin=subprocess.PIPE))
        time.sleep(0.5)  # connected
        self.check()

    def pids(self) -> list[int]:
        return [int(w.pid or 0) for w in self._workers] + [p.pid for p in self._procs]

    def go(self) -> None:
        if self._start is not None:
            self._start.set()
        else:
            self._feeder = threading.Thread(target=self._feed, daemon=True)
            self._feeder.start()

    def _feed(self) -> None:
        per, chunk, sent, t0 = self.plan.per, 50, 0, time.time()
        for first in range(0, per, chunk):
            stamp, last = now_iso(), min(per, first + chunk)
            for i, proc in enumerate(self._procs):
                lines = "".join(
                    TEMPLATE % (f"bench-{i:03d}", seq + 1, stamp, stamp, seq) + "\n"
                    for seq in range(first, last)
                )
                try:
                    assert proc.stdin is not None
                    proc.stdin.write(lines.encode())
                    proc.stdin.flush()
                except OSError as exc:
                    self.failures.append(f"mosquitto_pub {i}: its stdin failed: {exc}")
                    return
            sent += (last - first) * len(self._procs)
            if self.plan.rate > 0 and (ahead := sent / self.plan.rate - (time.time() - t0)) > 0:
                time.sleep(ahead)

    def check(self) -> None:
        """Raise PublisherFailed when a publisher has failed or exited early."""
        while self._errors is not None and not self._errors.empty():
            self.failures.append(self._errors.get())
        for i, worker in enumerate(self._workers):
            if worker.exitcode not in (None, 0) and not self.failures:
                self.failures.append(f"paho publisher {i} exited with status {worker.exitcode}")
        for i, proc in enumerate(self._procs):
            if proc.poll() is not None:
                self.failures.append(f"mosquitto_pub {i} exited early with status {proc.poll()}")
        if self.failures:
            raise PublisherFailed("; ".join(self.failures))

    def finish(self, timeout: float = 120.0) -> None:
        """Wait for every publisher to end cleanly; raise PublisherFailed otherwise."""
        if self._feeder is not None:
            self._feeder.join(timeout)
        self.check()
        for proc in self._procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for i, proc in enumerate(self._procs):
            if (code := proc.wait(timeout)) != 0:
                self.failures.append(f"mosquitto_pub {i} exited with status {code}")
        if self._stop is not None:
            self._stop.set()
        for worker in self._workers:
            worker.join(timeout)
        self._procs = []  # ended: check() must not see them as early exits
        self.check()
        if any(w.exitcode != 0 for w in self._workers):
            raise PublisherFailed("a paho publisher did not end within its timeout")

    def kill(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for worker in self._workers:
            if worker.is_alive():
                worker.kill()
                worker.join()
