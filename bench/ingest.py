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
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
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


def publisher(index: int, port: int, count: int, devices: int, start: Any) -> None:
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
        payload = TEMPLATE % (names[d], seq, stamp, stamp, seq)
        infos.append(client.publish(topics[d], payload, qos=1))
    for info in infos:
        info.wait_for_publish(120)
    client.disconnect()
    client.loop_stop()


def c_publishers(port: int, count: int, k: int, rate: float, start: float) -> None:
    """Feed K mosquitto_pub processes, paced to ``rate`` msgs/s in total."""
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
    per = count // k
    chunk = 50
    time.sleep(max(0.0, start - time.time()))
    t0 = time.time()
    sent = 0
    for first in range(0, per, chunk):
        stamp = _now_iso()
        last = min(per, first + chunk)
        for i, proc in enumerate(procs):
            lines = "".join(
                TEMPLATE % (f"bench-{i:03d}", seq + 1, stamp, stamp, seq) + "\n"
                for seq in range(first, last)
            )
            assert proc.stdin is not None
            proc.stdin.write(lines.encode())
            proc.stdin.flush()
        sent += (last - first) * k
        if rate > 0:
            ahead = sent / rate - (time.time() - t0)
            if ahead > 0:
                time.sleep(ahead)
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.close()
    for proc in procs:
        proc.wait(120)


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    pg: EmbeddedPostgres | None = None
    admin = os.environ.get("FLEET_BENCH_DATABASE_URL")
    if not admin:
        pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
        pg.initialise()
        pg.start()
        admin = pg.url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS fleet_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE fleet_bench")
    db_url = admin.rsplit("/", 1)[0] + "/fleet_bench"
    migrate(db_url)

    env = dict(os.environ, FLEET_DATABASE_URL=db_url, FLEET_MQTT_URL=broker.url)
    ingest_log = (work / "ingest.log").open("wb")
    ingest_procs = [
        subprocess.Popen(
            [sys.executable, "-m", "fleet_server.cli", "--log-level", "WARNING", "ingest"],
            cwd=REPO,
            env=dict(env, FLEET_INGEST_CLIENT_ID=f"bench-ingest-{i}"),
            stdout=ingest_log,
            stderr=ingest_log,
        )
        for i in range(args.ingest)
    ]
    time.sleep(2.0)  # let ingest connect and subscribe before the clock starts

    per = args.messages // args.publishers
    total = per * args.publishers
    pubs: list[mp.Process] = []
    feeder: threading.Thread | None = None
    if args.publisher == "paho":
        start = mp.Event()
        pubs = [
            mp.Process(target=publisher, args=(i, broker.port, per, args.devices, start))
            for i in range(args.publishers)
        ]
        for p in pubs:
            p.start()
        time.sleep(1.0)  # publishers connected
    else:
        feeder = threading.Thread(
            target=c_publishers,
            args=(broker.port, total, args.publishers, args.rate, time.time() + 1.0),
        )
        feeder.start()
        time.sleep(1.0)
    watched = [psutil.Process(p.pid) for p in ingest_procs] + [psutil.Process(broker.proc.pid)]  # type: ignore[union-attr]
    for w in watched:
        w.cpu_percent(None)
    t0 = time.time()
    if args.publisher == "paho":
        start.set()
    with psycopg.connect(db_url, autocommit=True) as conn:
        stored = 0
        deadline = t0 + args.timeout
        while stored < total and time.time() < deadline:
            time.sleep(0.2)
            stored = conn.execute("SELECT count(*) FROM telemetry_heartbeat").fetchone()[0]  # type: ignore[index]
        elapsed_wall = time.time() - t0
        cpu = {f"ingest{i}": watched[i].cpu_percent(None) for i in range(args.ingest)}
        cpu["mosquitto"] = watched[-1].cpu_percent(None)
        row = conn.execute(
            """SELECT count(*), min(sent_at), max(stored_at),
                      percentile_cont(0.5) WITHIN GROUP (ORDER BY stored_at - sent_at),
                      percentile_cont(0.99) WITHIN GROUP (ORDER BY stored_at - sent_at),
                      count(DISTINCT (device_id, seq))
                 FROM telemetry_heartbeat"""
        ).fetchone()
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]  # type: ignore[index]
    for p in pubs:
        p.join(30)
    if feeder is not None:
        feeder.join(60)
    for proc in ingest_procs:
        proc.terminate()
        proc.wait(30)
    broker.stop()
    if pg is not None:
        pg.stop()
    assert row is not None
    count, first_sent, last_stored, p50, p99, distinct = row
    span = (last_stored - first_sent).total_seconds()
    return {
        "messages": total,
        "publishers": f"{args.publishers} x {args.publisher}",
        "offered_rate": args.rate or "unlimited",
        "ingest_processes": args.ingest,
        "stored_rows": count,
        "distinct": distinct,
        "lost": total - distinct,
        "dead_letters": dead,
        "seconds_first_publish_to_last_commit": round(span, 2),
        "msgs_per_s": round(total / span, 0) if span > 0 else None,
        "latency_p50_ms": round(p50.total_seconds() * 1000, 1),
        "latency_p99_ms": round(p99.total_seconds() * 1000, 1),
        "wall_seconds": round(elapsed_wall, 1),
        "cpu_percent_of_one_core": cpu,
        "machine": f"{platform.node()} {platform.machine()} {psutil.cpu_count()} cores "
        f"{round(psutil.virtual_memory().total / 2**30)} GiB, Python "
        f"{platform.python_version()}",
        "database": "embedded PostgreSQL (fsync on)" if pg else "FLEET_BENCH_DATABASE_URL",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=300_000)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--publisher", choices=["mosquitto_pub", "paho"], default="mosquitto_pub")
    parser.add_argument(
        "--rate",
        type=float,
        default=0,
        help="offered msgs/s in total (mosquitto_pub only; 0 = unlimited)",
    )
    parser.add_argument("--devices", type=int, default=500, help="devices per publisher")
    parser.add_argument("--ingest", type=int, default=1, help="ingest processes")
    parser.add_argument("--timeout", type=float, default=300)
    result = run(parser.parse_args())
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
