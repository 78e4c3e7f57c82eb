"""Ingest benchmark: K publisher processes → real Mosquitto → `fleet-server ingest`
→ PostgreSQL. Reports end-to-end msgs/s (first publish → last committed row),
p50/p99 latency (publish → commit) and the number of messages lost.

    .venv/bin/python -m bench.ingest --messages 300000 --publishers 4 --rate 10000

Publishers are `mosquitto_pub -l` processes (C, one device each) fed with
lines stamped at the moment they are handed over, so the load generator
leaves the two cores to the system under test; `--publisher paho` uses
Python paho publishers instead (they use most of a core each here).
PostgreSQL is the embedded one (durable: fsync on) unless
FLEET_BENCH_DATABASE_URL names an existing server's admin URL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]

TEMPLATE = (
    '{"schema_version":1,"device_id":"%s","boot":1,"seq":%d,'
    '"measured_at":"%s","sent_at":"%s","replay":false,'
    '"data":{"uptime_s":%d,"agent_version":"0.1.0","cpu_percent":12.5,'
    '"memory_percent":41.0,"disk_percent":30.2,"temperature_c":47.5,"clock_synced":true}}'
)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def paho_publisher(index: int, port: int, count: int, devices: int, start: Any) -> None:
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{index}", protocol=mqtt.MQTTv311
    )
    client.max_inflight_messages_set(2000)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port, keepalive=60)
    client.loop_start()
    names = [f"bench-{index}-{d:04d}" for d in range(devices)]
    topics = [f"fleet/v1/{n}/telemetry/heartbeat" for n in names]
    start.wait()
    infos = []
    for i in range(count):
        d = i % devices
        seq = i // devices + 1
        stamp = _now_iso()
        infos.append(client.publish(topics[d], TEMPLATE % (names[d], seq, stamp, stamp, seq), 1))
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def c_publishers(
    port: int, count: int, k: int, rate: float, *, failures: list[int], done: threading.Event
) -> None:
    """Feed K mosquitto_pub processes, paced to ``rate`` msgs/s in total.

    Their stdin stays open until ``done``: mosquitto_pub 2.0 may exit on EOF
    before its queued messages are all sent."""
    procs = [
        subprocess.Popen(
            [
                "mosquitto_pub",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-q",
                "1",
                "-l",
                "-i",
                f"bench-pub-{i}",
                "-t",
                f"fleet/v1/bench-{i:03d}/telemetry/heartbeat",
            ],
            stdin=subprocess.PIPE,
        )
        for i in range(k)
    ]
    per, chunk, sent, t0 = count // k, 50, 0, time.time()
    for first in range(0, per, chunk):
        stamp = _now_iso()
        last = min(per, first + chunk)
        for i, proc in enumerate(procs):
            assert proc.stdin is not None
            proc.stdin.write(
                "".join(
                    TEMPLATE % (f"bench-{i:03d}", seq + 1, stamp, stamp, seq) + "\n"
                    for seq in range(first, last)
                ).encode()
            )
            proc.stdin.flush()
        sent += (last - first) * k
        if rate > 0 and (ahead := sent / rate - (time.time() - t0)) > 0:
            time.sleep(ahead)
    done.wait()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
    failures.extend(code for proc in procs if (code := proc.wait(300)) != 0)


def _join_all(processes: list[mp.Process]) -> None:
    for process in processes:
        process.join()


@contextlib.contextmanager
def database(work: Path) -> Iterator[tuple[str, str]]:
    admin = os.environ.get("FLEET_BENCH_DATABASE_URL")
    pg = None
    if not admin:
        pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
        pg.initialise()
        pg.start()
        admin = pg.url()
    try:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("DROP DATABASE IF EXISTS fleet_bench WITH (FORCE)")
            conn.execute("CREATE DATABASE fleet_bench")
        url = admin.rsplit("/", 1)[0] + "/fleet_bench"
        migrate(url)
        yield url, ("embedded PostgreSQL 18 (fsync on)" if pg else "FLEET_BENCH_DATABASE_URL")
    finally:
        if pg is not None:
            pg.stop(mode="immediate")


def _count(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    row = conn.execute("SELECT count(*) FROM telemetry_heartbeat").fetchone()
    return int(row[0]) if row else 0


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    broker = Mosquitto(work / "mosquitto")
    with contextlib.ExitStack() as stack:
        broker.start()
        stack.callback(broker.stop)
        db_url, db_label = stack.enter_context(database(work))
        env = dict(os.environ, FLEET_DATABASE_URL=db_url, FLEET_MQTT_URL=broker.url)
        log = stack.enter_context((work / "ingest.log").open("wb"))
        ingest = []
        for i in range(args.ingest):
            proc = subprocess.Popen(
                [sys.executable, "-m", "fleet_server.cli", "--log-level", "WARNING", "ingest"],
                cwd=REPO,
                env=dict(env, FLEET_INGEST_CLIENT_ID=f"bench-ingest-{i}"),
                stdout=log,
                stderr=log,
            )
            stack.callback(proc.wait, 30)
            stack.callback(proc.terminate)
            ingest.append(proc)
        time.sleep(2.0)  # ingest connected and subscribed before the clock starts

        per = args.messages // args.publishers
        total = per * args.publishers
        failures: list[int] = []
        measured = threading.Event()
        start = mp.Event()
        if args.publisher == "paho":
            pubs = [
                mp.Process(target=paho_publisher, args=(i, broker.port, per, args.devices, start))
                for i in range(args.publishers)
            ]
            for p in pubs:
                p.start()
            time.sleep(1.0)  # connected
            feeder = threading.Thread(target=_join_all, args=(pubs,))
        else:
            feeder = threading.Thread(
                target=c_publishers,
                args=(broker.port, total, args.publishers, args.rate),
                kwargs={"failures": failures, "done": measured},
            )
        watched = {f"ingest{i}": psutil.Process(p.pid) for i, p in enumerate(ingest)}
        watched["mosquitto"] = psutil.Process(broker.proc.pid)  # type: ignore[union-attr]
        for watched_proc in watched.values():
            watched_proc.cpu_percent(None)
        t0 = time.time()
        start.set()
        feeder.start()
        with psycopg.connect(db_url, autocommit=True) as conn:
            stored, last_change, last_stored = 0, time.time(), -1
            while stored < total and time.time() - t0 < args.timeout:
                time.sleep(0.2)
                stored = _count(conn)
                if stored != last_stored:
                    last_stored, last_change = stored, time.time()
                elif time.time() - last_change > 15:
                    break  # nothing moves any more
            wall = time.time() - t0
            cpu = {name: w.cpu_percent(None) for name, w in watched.items()}
            measured.set()
            feeder.join(60)
            row = conn.execute(
                """SELECT count(*), min(sent_at), max(stored_at),
                          percentile_cont(0.5) WITHIN GROUP (ORDER BY stored_at - sent_at),
                          percentile_cont(0.99) WITHIN GROUP (ORDER BY stored_at - sent_at),
                          count(DISTINCT (device_id, seq))
                     FROM telemetry_heartbeat"""
            ).fetchone()
            dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
    assert row is not None
    assert dead is not None
    count, first_sent, last_stored_at, p50, p99, distinct = row
    span = (last_stored_at - first_sent).total_seconds() if count else 0
    return {
        "messages": total,
        "publishers": f"{args.publishers} x {args.publisher}",
        "publisher_failures": failures,
        "offered_rate": args.rate or "unlimited",
        "ingest_processes": args.ingest,
        "stored_rows": count,
        "lost": total - distinct,
        "dead_letters": dead[0],
        "seconds_first_publish_to_last_commit": round(span, 2),
        "msgs_per_s": round(total / span) if span > 0 else None,
        "latency_p50_ms": round(p50.total_seconds() * 1000, 1) if p50 else None,
        "latency_p99_ms": round(p99.total_seconds() * 1000, 1) if p99 else None,
        "wall_seconds": round(wall, 1),
        "cpu_percent_of_one_core": cpu,
        "machine": f"{platform.machine()}, {psutil.cpu_count()} cores, "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, "
        f"Python {platform.python_version()}",
        "database": db_label,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--publisher", choices=["mosquitto_pub", "paho"], default="mosquitto_pub")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="offered msgs/s in total (mosquitto_pub only; 0 = unlimited)",
    )
    parser.add_argument("--devices", type=int, default=500, help="devices per paho publisher")
    parser.add_argument("--ingest", type=int, default=1, help="ingest processes")
    parser.add_argument("--timeout", type=float, default=600)
    print(json.dumps(run(parser.parse_args()), indent=2, default=str))


if __name__ == "__main__":
    main()
