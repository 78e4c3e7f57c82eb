"""Fleet benchmark: N simulated boards (default 10,000, heartbeat every 30 s,
the other kinds every 30-60 s) against a local Mosquitto + `fleet-server
ingest` + PostgreSQL. Reports the time until every board's birth is stored,
simulator CPU/RSS, ingest CPU and the ingest lag.

Same-run baseline (issue 20): a listener records --sample of the telemetry
messages the simulator sends; once the simulator has stopped, one bare paho
client (bench/baseline.py, a process of its own, QoS 1) publishes as many
messages as the simulator did, cycling the recorded ones, to the same broker.
``ratio`` comes first: the simulator's CPU seconds per 1,000 messages over
the bare client's, and its RSS over the bare client's.

    .venv/bin/python -m bench.fleet --boards 10000 --seconds 120
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
import psycopg

from bench.baseline import Recorder, bare_publish, emit, machine, ratio
from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
TABLES = (
    "telemetry_heartbeat",
    "telemetry_power",
    "telemetry_network",
    "telemetry_display",
)


def _one(conn: psycopg.Connection[tuple[Any, ...]], sql: str) -> Any:
    row = conn.execute(sql).fetchone()
    return None if row is None else row[0]


def stored(conn: psycopg.Connection[tuple[Any, ...]]) -> int:
    """Telemetry messages stored (camera rows counted once per message)."""
    total = sum(int(_one(conn, f"SELECT count(*) FROM {t}")) for t in TABLES)
    return total + int(
        _one(conn, "SELECT count(DISTINCT (device_id, boot, seq)) FROM telemetry_camera")
    )


class CpuWatch:
    def __init__(self, procs: dict[str, psutil.Process]) -> None:
        self.procs = procs
        self.start = {name: self._times(p) for name, p in procs.items()}
        self.t0 = time.monotonic()
        self.rss_max = dict.fromkeys(procs, 0)

    @staticmethod
    def _times(proc: psutil.Process) -> float:
        times = proc.cpu_times()
        return float(times.user + times.system)

    def sample(self) -> None:
        for name, proc in self.procs.items():
            self.rss_max[name] = max(self.rss_max[name], proc.memory_info().rss)

    def report(self) -> dict[str, dict[str, float]]:
        elapsed = time.monotonic() - self.t0
        return {
            name: {
                "cpu_percent_of_one_core": round(
                    100 * (self._times(p) - self.start[name]) / elapsed, 1
                ),
                "cpu_seconds": round(self._times(p) - self.start[name], 2),
                "rss_max_mb": round(self.rss_max[name] / 2**20, 1),
            }
            for name, p in self.procs.items()
        }


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="fleet-fleet-bench-"))
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
    pg.initialise()
    pg.start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE fleet")
        db_url = pg.url("fleet")
        migrate(db_url)
        env = dict(os.environ, FLEET_DATABASE_URL=db_url, FLEET_MQTT_URL=broker.url)
        log = (work / "run.log").open("ab")
        ingest = subprocess.Popen(
            [sys.executable, "-m", "fleet_server.cli", "--log-level", "WARNING", "ingest"],
            cwd=REPO,
            env=dict(env, FLEET_INGEST_CLIENT_ID="bench-ingest"),
            stdout=log,
            stderr=log,
        )
        procs.append(ingest)
        time.sleep(2)
        sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleet_server.cli",
                "simulate",
                "--boards",
                str(args.boards),
                "--seed",
                "--duration",
                str(args.seconds + 600),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        procs.append(sim)
        t0 = time.monotonic()
        assert broker.proc is not None
        watch = CpuWatch(
            {
                "simulator": psutil.Process(sim.pid),
                "ingest": psutil.Process(ingest.pid),
                "mosquitto": psutil.Process(broker.proc.pid),
            }
        )
        recorder = Recorder(broker.port, "fleet/v1/+/telemetry/#", limit=args.sample)
        with psycopg.connect(db_url, autocommit=True) as conn:
            births = 0
            while births < args.boards and time.monotonic() - t0 < 300:
                time.sleep(0.5)
                watch.sample()
                births = int(_one(conn, "SELECT count(*) FROM board_latest WHERE kind='state'"))
            connect_s = time.monotonic() - t0
            lags = []
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                time.sleep(5)
                watch.sample()
                lag = _one(
                    conn,
                    "SELECT extract(epoch FROM max(stored_at - sent_at))"
                    " FROM telemetry_heartbeat"
                    " WHERE stored_at > now() - interval '5 seconds'",
                )
                lags.append(float(lag or 0))
            usage = watch.report()
            sim.send_signal(signal.SIGINT)
            out, _ = sim.communicate(timeout=120)
            summary = json.loads(out.decode().strip().splitlines()[-1])
            before, settled = -1, stored(conn)
            while settled != before:  # drain what is still on its way
                time.sleep(2)
                before, settled = settled, stored(conn)
        sample = recorder.close()
        bare = bare_publish(
            broker.port, sample, work / "baseline", count=summary["telemetry_published"]
        )
        sim_per_1000 = 1000 * usage["simulator"]["cpu_seconds"] / summary["telemetry_published"]
        return {
            "ratio": {
                "simulator_cpu_per_message_over_bare_paho": ratio(
                    sim_per_1000, bare["cpu_seconds_per_1000_messages"]
                ),
                "simulator_rss_over_bare_paho": ratio(
                    usage["simulator"]["rss_max_mb"], bare["rss_max_mb"]
                ),
            },
            "baseline_bare_paho_publisher": bare,
            "simulator_cpu_seconds_per_1000_messages": round(sim_per_1000, 4),
            "boards": args.boards,
            "seconds_until_every_birth_stored": round(connect_s, 1),
            "births_stored": births,
            "measured_seconds": args.seconds,
            "heartbeat_lag_s_max_of_5s_windows": round(max(lags), 2) if lags else None,
            "heartbeat_lag_s_median": round(sorted(lags)[len(lags) // 2], 2) if lags else None,
            "telemetry_published": summary["telemetry_published"],
            "telemetry_stored": settled,
            "telemetry_lost": summary["telemetry_published"] - settled,
            "usage": usage,
            "machine": machine(),
        }
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(30)
        broker.stop()
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument(
        "--sample", type=int, default=5000, help="telemetry messages recorded for the baseline"
    )
    emit("fleet", run(parser.parse_args()))


if __name__ == "__main__":
    main()
