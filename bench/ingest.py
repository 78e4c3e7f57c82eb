"""Ingest benchmark, with its baseline in the same run: K publishers → real
Mosquitto → first a bare paho sink, then `fleet-server ingest` → PostgreSQL.

    .venv/bin/python -m bench.ingest --messages 300000 --publishers 4 [--ingest 2]

Two phases on the same broker, with the same publishers and messages:

1. **baseline**: one bare sink (bench/ingest_sink.py) subscribes as ingest
   does (MQTT 5, persistent session, receive maximum, shared subscription,
   QoS 1), only ``json.loads`` each payload and lets paho acknowledge. It ends
   its session before phase 2, so nothing is left queued.
2. **ingest**: ``--ingest N`` ingest processes (one shared subscription),
   each message validated, stored and committed before its acknowledgement,
   on a fresh database; their sessions are discarded afterwards.

``--rounds R`` repeats the pair R times and reports the medians (on a
shared, busy machine the rounds differ; alternating keeps both phases under
the same conditions).

Both figures use one definition, messages / (last received or committed −
first published), and the result leads with their ratio
``ratio_ingest_to_baseline``, then each phase's msgs/s, and the ratio of
their CPU cost per message (sink µs ÷ ingest µs, all ingest processes
together; what the throughput ratio would be with a core each: the figure
to trust on a busy machine). Each phase also reports latency p50/p99
(publish → receive or commit), lost, and the CPU of each process group (% of
one core: sink or ingest, mosquitto, publishers, embedded PostgreSQL).
Lost = messages the publishers had acknowledged − distinct rows stored.

Publishers are ``mosquitto_pub -l`` processes (C, one device each) by default,
so the load generator leaves the cores to the system under test;
``--publisher paho`` uses Python paho publishers (about a core each here)
with a window of unacknowledged messages (bench/ingest_publishers.py). A
publisher that fails, or a sink that stalls, fails the run: exit status 2
and the reason on stderr, never a count of "lost" messages.

PostgreSQL is the embedded one (durable: fsync on) unless
FLEET_BENCH_DATABASE_URL names an existing server's admin URL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from bench.ingest_cpu import CpuWatch
from bench.ingest_env import REPO, Server, git_head, machine, postgres
from bench.ingest_publishers import Plan, PublisherFailed, Publishers
from bench.ingest_sink import SinkFailed, SinkProcess, end_session, presubscribe
from tests.support.mosquitto import Mosquitto


class IngestFailed(RuntimeError):
    """An ingest process died during the run."""


def _plan(args: argparse.Namespace, port: int) -> Plan:
    return Plan(
        kind=args.publisher,
        port=port,
        per=args.messages // args.publishers,
        publishers=args.publishers,
        rate=args.rate,
        devices=args.devices,
        window=args.window,
        fail_after=args.fail_publisher_after,
    )


def _per_s(count: int, span: float) -> int | None:
    return round(count / span) if span > 0 else None


def run_baseline(
    args: argparse.Namespace, broker: Mosquitto, pg_pid: int | None = None
) -> dict[str, object]:
    """Phase 1: the bare sink, until it holds every message (or fails)."""
    plan = _plan(args, broker.port)
    sink = SinkProcess(broker.port, plan.total, args.stall)
    pubs = Publishers(plan)
    try:
        if sink.next_line(30) != "ready":
            raise SinkFailed("bare sink: not ready within 30 s")
        pubs.start()
        assert broker.proc is not None
        watch = CpuWatch(
            {"sink": [sink.proc.pid], "mosquitto": [broker.proc.pid], "publishers": pubs.pids()}
            | ({"postgres": [pg_pid]} if pg_pid else {})
        )
        t0 = time.time()
        pubs.go()
        while sink.next_line(0.2) != "done":
            pubs.check()
            if time.time() - t0 > args.timeout:
                raise SinkFailed(f"bare sink: not done after {args.timeout:g} s")
        wall = time.time() - t0
        cpu = watch.read(plan.total, ["sink"])
        result = json.loads(sink.next_line(120) or "{}")
        pubs.finish()
    finally:
        sink.close()
        pubs.kill()
    span = result["last_received"] - result["first_sent"]
    return {
        "msgs_per_s": _per_s(plan.total, span),
        "seconds_first_publish_to_last_receive": round(span, 2),
        "received": result["received"],
        "lost": plan.total - result["distinct"],
        "latency_p50_ms": round(result["latency_p50_ms"], 1),
        "latency_p99_ms": round(result["latency_p99_ms"], 1),
        "wall_seconds": round(wall, 1),
        "cpu": cpu,
    }


def _stats(conn: psycopg.Connection[tuple[Any, ...]]) -> tuple[Any, ...]:
    row = conn.execute(
        """SELECT count(*), min(sent_at), max(stored_at),
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY stored_at - sent_at),
                  percentile_cont(0.99) WITHIN GROUP (ORDER BY stored_at - sent_at),
                  count(DISTINCT (device_id, seq)),
                  (SELECT count(*) FROM dead_letters)
             FROM telemetry_heartbeat"""
    ).fetchone()
    assert row is not None
    return tuple(row)


def _wait_connected(
    broker: Mosquitto, client_ids: list[str], procs: list[subprocess.Popen[bytes]]
) -> None:
    """Until the broker's log shows every ingest process connected (the clock
    starts with ingest running; its session already holds the subscription)."""
    deadline = time.time() + 60
    while time.time() < deadline:
        log = broker.log_path.read_text(errors="replace")
        if all(f" as {c} (p5, c0" in log for c in client_ids):
            time.sleep(0.5)  # its SUBSCRIBE follows the CONNACK
            return
        if any(p.poll() is not None for p in procs):
            break
        time.sleep(0.1)
    raise IngestFailed(f"ingest did not connect to the broker; see {broker.log_path}")


def run_ingest(
    args: argparse.Namespace, broker: Mosquitto, server: Server, work: Path
) -> dict[str, object]:
    """Phase 2: N ingest processes on a fresh database, until every row is
    committed or nothing moves; their sessions are discarded at the end."""
    plan = _plan(args, broker.port)
    db_url, pg_pid = server.fresh_database("fleet_bench"), server.pid
    env = dict(os.environ, FLEET_DATABASE_URL=db_url, FLEET_MQTT_URL=broker.url)
    pubs = Publishers(plan)
    with contextlib.ExitStack() as stack:
        log = stack.enter_context((work / "ingest.log").open("ab"))
        ingest = []
        for i in range(args.ingest):
            presubscribe(broker.port, f"bench-ingest-{i}")
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
        stack.callback(pubs.kill)
        _wait_connected(broker, [f"bench-ingest-{i}" for i in range(args.ingest)], ingest)
        pubs.start()
        assert broker.proc is not None
        groups = {f"ingest{i}": [p.pid] for i, p in enumerate(ingest)}
        groups |= {"mosquitto": [broker.proc.pid], "publishers": pubs.pids()}
        watch = CpuWatch(groups | ({"postgres": [pg_pid]} if pg_pid else {}))
        t0 = time.time()
        pubs.go()
        conn = stack.enter_context(psycopg.connect(db_url, autocommit=True))
        stored, last_change, last_stored = 0, time.time(), -1
        while stored < plan.total and time.time() - t0 < args.timeout:
            time.sleep(0.2)
            pubs.check()
            if dead := [i for i, p in enumerate(ingest) if p.poll() is not None]:
                raise IngestFailed(f"ingest process {dead[0]} exited; see {work}/ingest.log")
            stored = _stats_count(conn)
            if stored != last_stored:
                last_stored, last_change = stored, time.time()
            elif time.time() - last_change > args.stall:
                break  # nothing moves any more: what is missing is lost
        wall = time.time() - t0
        cpu = watch.read(plan.total, [f"ingest{i}" for i in range(args.ingest)])
        pubs.finish()
        count, first_sent, last_stored_at, p50, p99, distinct, dead_letters = _stats(conn)
    for i in range(args.ingest):  # ingest has stopped
        end_session(broker.port, f"bench-ingest-{i}")
    span = (last_stored_at - first_sent).total_seconds() if count else 0
    return {
        "msgs_per_s": _per_s(plan.total, span),
        "seconds_first_publish_to_last_commit": round(span, 2),
        "stored_rows": count,
        "lost": plan.total - distinct,
        "dead_letters": dead_letters,
        "latency_p50_ms": round(p50.total_seconds() * 1000, 1) if p50 else None,
        "latency_p99_ms": round(p99.total_seconds() * 1000, 1) if p99 else None,
        "wall_seconds": round(wall, 1),
        "cpu": cpu,
    }


def _stats_count(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    row = conn.execute("SELECT count(*) FROM telemetry_heartbeat").fetchone()
    return int(row[0]) if row else 0


def _get(result: object, key: str) -> Any:
    return result.get(key) if isinstance(result, dict) else None


def _ratio(part: object, whole: object) -> float | None:
    ok = isinstance(part, int | float) and isinstance(whole, int | float) and whole > 0
    return round(part / whole, 3) if ok else None  # type: ignore[operator]


HEADLINE = (
    "ratio_ingest_to_baseline",
    "baseline_msgs_per_s",
    "ingest_msgs_per_s",
    "ratio_cpu_per_message_baseline_to_ingest",
    "baseline_cpu_us_per_message",
    "ingest_cpu_us_per_message",
)


def _round(baseline: dict[str, object] | None, ingest: dict[str, object] | None) -> dict[str, Any]:
    base_rate, ingest_rate = _get(baseline, "msgs_per_s"), _get(ingest, "msgs_per_s")
    base_cpu = _get(_get(baseline, "cpu"), "consumer_cpu_us_per_message")
    ingest_cpu = _get(_get(ingest, "cpu"), "consumer_cpu_us_per_message")
    figures = (
        _ratio(ingest_rate, base_rate),
        base_rate,
        ingest_rate,
        _ratio(base_cpu, ingest_cpu),
        base_cpu,
        ingest_cpu,
    )
    return dict(zip(HEADLINE, figures, strict=True)) | {"baseline": baseline, "ingest": ingest}


def _median(values: list[Any]) -> Any:
    known = [v for v in values if v is not None]
    return round(statistics.median(known), 3) if known else None


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="fleet-bench-"))
    broker = Mosquitto(work / "mosquitto")
    head = git_head()
    rounds: list[dict[str, Any]] = []
    with contextlib.ExitStack() as stack:
        broker.start()
        stack.callback(broker.stop)
        server = None if args.baseline_only else stack.enter_context(postgres(work))
        pg_pid = server.pid if server else None
        for n in range(args.rounds):
            baseline = None if args.no_baseline else run_baseline(args, broker, pg_pid)
            ingest = None if server is None else run_ingest(args, broker, server, work)
            rounds.append(_round(baseline, ingest))
            brief = ", ".join(f"{k} {rounds[-1][k]}" for k in HEADLINE[:3])
            print(f"round {n + 1}/{args.rounds}: {brief}", file=sys.stderr, flush=True)
    shutil.rmtree(work, ignore_errors=True)  # kept when the run failed: its logs are there
    lost = {
        phase: sum(int(r[phase]["lost"]) for r in rounds if r[phase])
        for phase in ("baseline", "ingest")
    }
    return {k: _median([r[k] for r in rounds]) for k in HEADLINE} | {
        "lost": lost,
        "ingest_processes": args.ingest,
        "messages": _plan(args, broker.port).total,
        "publishers": f"{args.publishers} x {args.publisher}",
        "offered_rate": args.rate or "unlimited",
        "rounds": rounds,
        "git_head": head,
        "machine": machine(),
        "database": server.label if server else "none (--baseline-only)",
    }


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--messages", type=int, default=300_000, help="in total (default 300000)")
    p.add_argument("--publishers", type=int, default=4, help="publisher processes (default 4)")
    p.add_argument("--publisher", choices=["mosquitto_pub", "paho"], default="mosquitto_pub")
    p.add_argument("--rate", type=float, default=0, help="offered msgs/s in total; 0 = unlimited")
    p.add_argument("--devices", type=int, default=500, help="devices per paho publisher")
    p.add_argument(
        "--window", type=int, default=1000, help="paho: unacknowledged messages per publisher"
    )
    p.add_argument("--ingest", type=int, default=1, help="ingest processes (default 1)")
    phases = p.add_mutually_exclusive_group()
    phases.add_argument("--baseline-only", action="store_true", help="only the bare sink")
    phases.add_argument("--no-baseline", action="store_true", help="only ingest (no ratio)")
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="baseline then ingest, this many times; the headline figures are the medians",
    )
    p.add_argument("--stall", type=float, default=15.0, help="seconds without progress: stop")
    p.add_argument("--timeout", type=float, default=600, help="seconds per phase at most")
    p.add_argument("--out", type=Path, help="also write the JSON result to this file")
    p.add_argument("--fail-publisher-after", type=int, help=argparse.SUPPRESS)  # tests
    return p


def main() -> None:
    args = parser().parse_args()
    try:
        result = run(args)
    except (PublisherFailed, SinkFailed, IngestFailed) as exc:
        print(f"bench.ingest FAILED: {exc}", file=sys.stderr)
        sys.exit(2)
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
