"""Same-run baselines for the benchmarks (issue 20): what this machine does
with the same kind of work, measured in the same run, so a figure can be
read as a ratio (machines of one kind differ 2-3x from one to the next).

- ``ratio``: measured / baseline, rounded (None when the baseline is 0);
- ``machine``: CPU model, cores, memory, load average;
- ``emit``: prints a benchmark's result (ratios first, as built) and keeps it
  in ``bench/results/<name>-<UTC time>.json``;
- a bare MQTT publisher: ``Recorder`` keeps what a real publisher sent
  (topic, payload, when), ``bare_publish`` replays it from a subprocess of
  its own (plain paho-mqtt, QoS 1, nothing else: the floor of publishing the
  same messages) as fast as it can or at the recorded cadence, and returns
  that process's CPU, RSS and rate. It publishes under ``baseline/`` so no
  ingest stores the copies.

    .venv/bin/python -m bench.baseline publish --port 1883 --messages m.jsonl [--paced]
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import platform
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
PREFIX = "baseline/"


def ratio(measured: float | None, baseline: float | None, digits: int = 2) -> float | None:
    """measured / baseline; None when either is missing or the baseline is 0."""
    if measured is None or not baseline:
        return None
    return round(measured / baseline, digits)


def machine() -> dict[str, object]:
    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
    }


def emit(name: str, result: dict[str, Any]) -> Path:
    """Print ``result`` and keep it in bench/results/; the file's path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    text = json.dumps(result, indent=2, default=str)
    path.write_text(text + "\n")
    print(text)
    print(f"results: {path}")
    return path


class Recorder:
    """Subscribes to ``topic`` on the broker and keeps every message with its
    offset from the first (for ``bare_publish``); after ``limit`` it unsubscribes."""

    def __init__(self, port: int, topic: str, limit: int | None = None) -> None:
        import paho.mqtt.client as mqtt  # noqa: PLC0415
        from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

        self.limit, self.topic = limit, topic
        self.messages: list[tuple[float, str, bytes]] = []
        self._t0: float | None = None
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-rec-{os.getpid()}")
        self.client.on_message = self._message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(topic, qos=0)
        self.client.loop_start()
        if not self._subscribed.wait(10):
            raise RuntimeError("the recorder did not subscribe")

    def _message(self, _c: Any, _u: Any, message: Any) -> None:
        now = time.monotonic()
        with self._lock:
            if self.limit is not None and len(self.messages) >= self.limit:
                return
            if self._t0 is None:
                self._t0 = now
            self.messages.append((now - self._t0, message.topic, bytes(message.payload)))
            if self.limit is not None and len(self.messages) >= self.limit:
                self.client.unsubscribe(self.topic)  # enough: no load on the broker after

    def close(self) -> list[tuple[float, str, bytes]]:
        self.client.loop_stop()
        self.client.disconnect()
        with self._lock:
            return list(self.messages)


def write_messages(path: Path, messages: list[tuple[float, str, bytes]]) -> None:
    with path.open("w") as out:
        for offset, topic, payload in messages:
            line = {"t": offset, "topic": topic, "payload": base64.b64encode(payload).decode()}
            out.write(json.dumps(line) + "\n")


def bare_publish(
    port: int,
    messages: list[tuple[float, str, bytes]],
    work: Path,
    *,
    paced: bool = False,
    count: int | None = None,
    inflight: int = 20,
) -> dict[str, Any]:
    """Publish ``messages`` (cycled up to ``count``) from a bare paho process;
    its CPU seconds (and % of one core), RSS high-water mark and rate."""
    if not messages:
        raise ValueError("nothing to publish: the recorder heard no message")
    work.mkdir(parents=True, exist_ok=True)
    path = work / "baseline-messages.jsonl"
    write_messages(path, messages)
    argv = [sys.executable, "-m", "bench.baseline", "publish", "--port", str(port)]
    argv += ["--messages", str(path), "--inflight", str(inflight)]
    argv += ["--count", str(count or len(messages))] + (["--paced"] if paced else [])
    proc = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE)
    ps = psutil.Process(proc.pid)
    rss_max, cpu = 0, 0.0
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            rss_max = max(rss_max, ps.memory_info().rss)
        time.sleep(0.2)
    out = (proc.stdout.read() if proc.stdout else b"").decode()
    if proc.returncode != 0:
        raise RuntimeError(f"the bare publisher failed ({proc.returncode}): {out[-500:]}")
    report = json.loads(out.strip().splitlines()[-1])
    cpu = report["cpu_seconds"]
    return {
        "messages": report["published"],
        "seconds": report["seconds"],
        "msgs_per_s": round(report["published"] / report["seconds"]) if report["seconds"] else None,
        "cpu_seconds": round(cpu, 3),
        "cpu_seconds_per_1000_messages": round(1000 * cpu / report["published"], 4),
        "cpu_percent_of_one_core": round(100 * cpu / report["wall_seconds"], 3),
        "rss_max_mb": round(rss_max / 2**20, 1),
    }


# --------------------------------------------------------------------------- the subprocess


def _publish(args: argparse.Namespace) -> None:
    import paho.mqtt.client as mqtt  # noqa: PLC0415
    from paho.mqtt.enums import CallbackAPIVersion  # noqa: PLC0415

    recorded = [json.loads(line) for line in Path(args.messages).read_text().splitlines()]
    loaded = [(m["t"], PREFIX + m["topic"], base64.b64decode(m["payload"])) for m in recorded]
    del recorded
    acked = threading.Event()
    done = {"n": 0, "failed": 0}
    # at most a few windows handed to paho at once: its queue (and RSS) stays
    # small, as a publisher's that sends what it has, not all it will have
    room = threading.BoundedSemaphore(4 * args.inflight)

    def on_publish(_c: Any, _u: Any, _mid: int, reason: Any, _p: Any) -> None:
        room.release()
        done["n"] += 1
        if reason.is_failure:
            done["failed"] += 1
        if done["n"] >= args.count:
            acked.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{os.getpid()}")
    client.max_inflight_messages_set(args.inflight)
    client.max_queued_messages_set(0)  # unlimited: never ERR_QUEUE_SIZE
    client.on_publish = on_publish
    client.connect("127.0.0.1", args.port)
    client.loop_start()
    wall0, cpu0 = time.monotonic(), time.process_time()
    started = None
    for i in range(args.count):
        offset, topic, payload = loaded[i % len(loaded)]
        if args.paced:
            lap = (i // len(loaded)) * (loaded[-1][0] + 1)
            delay = wall0 + lap + offset - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        if started is None:
            started = time.monotonic()
        if not room.acquire(timeout=60):
            raise SystemExit(f"no PUBACK for 60 s after {done['n']} acknowledged")
        info = client.publish(topic, payload, qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise SystemExit(f"publish failed: {mqtt.error_string(info.rc)}")
    if not acked.wait(600):
        raise SystemExit(f"only {done['n']} of {args.count} acknowledged")
    ended = time.monotonic()
    cpu = time.process_time() - cpu0
    client.loop_stop()
    client.disconnect()
    if done["failed"]:
        raise SystemExit(f"{done['failed']} publishes refused by the broker")
    print(
        json.dumps(
            {
                "published": args.count,
                "seconds": round(ended - (started or ended), 4),
                "wall_seconds": round(ended - wall0, 4),
                "cpu_seconds": cpu,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    publish = sub.add_parser("publish", help="publish recorded messages from a bare paho client")
    publish.add_argument("--port", type=int, required=True)
    publish.add_argument("--messages", required=True, help="JSON lines: t, topic, payload")
    publish.add_argument("--count", type=int, required=True)
    publish.add_argument("--inflight", type=int, default=20)
    publish.add_argument("--paced", action="store_true", help="at the recorded offsets")
    _publish(parser.parse_args())


if __name__ == "__main__":
    main()
