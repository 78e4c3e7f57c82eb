"""Edge agent benchmark.

1. Footprint: `edge-agent run --simulate` with every simulated collector at
   the default intervals, against a local Mosquitto, for --minutes: RSS and
   average CPU (% of one core). Both agents here leave a message on its
   PUBACK (``spool.delivery = "puback"``): no ingest runs to send receipts.
2. Spool capacity: --spool-days (7) of default-rate telemetry from the simulated
   collectors (two cameras) written through the real Spool: bytes on disk.
3. Replay: a spool holding --backlog samples (written through the agent's own
   Spool and protocol models) is replayed by a fresh agent to a local
   Mosquitto: msgs/s from its connection to an empty spool (every sample
   acknowledged by the broker).

Same-run baselines (issue 20), ratios first in the result:

1. footprint: the messages the agent sent in its window (recorded from the
   broker) published again at the same offsets by a bare paho client in a
   process of its own (bench/baseline.py): the agent's CPU and RSS over the
   bare client's;
2. spool: the file on disk over the bytes of the messages it holds;
3. replay: the same number of the same heartbeats (recorded from the
   replay) published as fast as it goes by the bare client with the agent's
   window (``spool.inflight`` + 20 unacknowledged): the agent's msgs/s over
   the bare client's.

    .venv/bin/python -m bench.agent --minutes 3 --backlog 100000

With --proof, instead: what screen and camera proof adds (issue 18), the
agent without proof as the baseline beside the agent with it, at the default
settings and on a compressed time scale (bench/agent_proof.py says how):

    .venv/bin/python -m bench.agent --proof --minutes 10 --compressed-minutes 15 --factor 12

With --bytes, instead: bytes per board per day at the default settings, plain
JSON against the compact encoding, on a compressed time scale
(bench/agent_bytes.py says how):

    .venv/bin/python -m bench.agent --bytes --minutes 3 --factor 30
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

import fleet_protocol as fp
from bench.baseline import Recorder, bare_publish, emit, machine, ratio
from edge_agent.config import SpoolConfig
from edge_agent.spool import PRIORITY_TELEMETRY, Spool
from tests.support.mosquitto import Mosquitto

REPO = Path(__file__).resolve().parents[1]
#: no ingest here to send receipts: a message leaves the spool on its PUBACK
#: (with the default "receipt" the replay stops at spool.unreceipted_max)
PUBACK = '[spool]\ndelivery = "puback"\n'


def _agent(work: Path, broker: Mosquitto, extra: str = "") -> subprocess.Popen[bytes]:
    config = work / "agent.toml"
    config.write_text(
        f'device_id = "lc-bench-01"\nmqtt_url = "{broker.url}"\n'
        f'spool_path = "{work / "spool.db"}"\nsimulate = true\nlog_level = "WARNING"\n{extra}'
    )
    log = (work / "agent.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "--config", str(config), "run"],
        cwd=REPO,
        stdout=log,
        stderr=log,
        env=dict(os.environ),
    )


def footprint(work: Path, broker: Mosquitto, minutes: float) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    proc = _agent(work, broker, PUBACK)
    ps = psutil.Process(proc.pid)
    time.sleep(5)  # start-up (imports) is not the steady state
    recorder = Recorder(broker.port, "fleet/v1/lc-bench-01/#")
    ps.cpu_percent(None)
    start_cpu = ps.cpu_times()
    t0 = time.monotonic()
    rss_max = 0
    while time.monotonic() - t0 < minutes * 60:
        rss_max = max(rss_max, ps.memory_info().rss)
        time.sleep(1)
    end_cpu = ps.cpu_times()
    elapsed = time.monotonic() - t0
    used = (end_cpu.user - start_cpu.user) + (end_cpu.system - start_cpu.system)
    proc.terminate()
    proc.wait(20)
    sent = recorder.close()
    bare = bare_publish(broker.port, sent, work / "baseline", paced=True)
    cpu = 100 * used / elapsed
    return {
        "ratio": {
            "cpu_over_bare_paho": ratio(cpu, bare["cpu_percent_of_one_core"]),
            "rss_over_bare_paho": ratio(rss_max / 2**20, bare["rss_max_mb"]),
        },
        "minutes": round(elapsed / 60, 2),
        "rss_max_mb": round(rss_max / 2**20, 1),
        "cpu_avg_percent_of_one_core": round(cpu, 3),
        "messages": len(sent),
        "baseline_bare_paho_same_messages_same_offsets": bare,
    }


def fill(path: Path, count: int) -> None:
    spool = Spool(path, max_bytes=10**10)
    boot = spool.start_boot()
    topic = fp.telemetry_topic("lc-bench-01", "heartbeat")
    start = datetime.now(UTC) - timedelta(days=3)
    for i in range(count):
        when = start + timedelta(seconds=2 * i)

        def make(seq: int, when: datetime = when) -> bytes:
            return fp.encode(
                fp.HeartbeatMessage(
                    schema_version=1,
                    device_id="lc-bench-01",
                    boot=boot,
                    seq=seq,
                    measured_at=when,
                    sent_at=when,
                    data=fp.HeartbeatData(
                        uptime_s=seq,
                        agent_version="0.1.0",
                        cpu_percent=5,
                        memory_percent=30,
                        disk_percent=20,
                        temperature_c=45,
                    ),
                )
            )

        spool.add(topic, make, PRIORITY_TELEMETRY)
    spool.close()


def capacity(work: Path, days: float = 7) -> dict[str, Any]:
    from edge_agent.collectors import simulated_collectors  # noqa: PLC0415
    from edge_agent.config import Intervals  # noqa: PLC0415
    from edge_agent.simulation import SimulatedBoard  # noqa: PLC0415

    work.mkdir(parents=True, exist_ok=True)
    spool = Spool(work / "spool.db")
    boot = spool.start_boot()
    board = SimulatedBoard(cameras={"cam1": True, "cam2": True})
    collectors = simulated_collectors(board)
    intervals = Intervals()
    start = datetime.now(UTC) - timedelta(days=days)
    count = 0
    payload_bytes: list[int] = []
    for kind, collector in collectors.items():
        step = getattr(intervals, kind.value)
        model = fp.TELEMETRY_MODELS[kind]
        topic = fp.telemetry_topic("lc-bench-01", kind)
        data = collector.collect()
        for i in range(int(days * 86_400 / step)):
            when = start + timedelta(seconds=i * step)

            def make(
                seq: int, when: datetime = when, model: Any = model, data: Any = data
            ) -> bytes:
                encoded = fp.encode(
                    model(
                        schema_version=1,
                        device_id="lc-bench-01",
                        boot=boot,
                        seq=seq,
                        measured_at=when,
                        sent_at=when,
                        data=data,
                    )
                )
                payload_bytes.append(len(encoded))
                return encoded

            spool.add(topic, make, PRIORITY_TELEMETRY)
            count += 1
    stats = spool.stats()
    spool.close()
    payload = sum(payload_bytes)
    return {
        "ratio_file_over_payload_bytes": ratio(stats.file_bytes, payload),
        "payload_mb": round(payload / 1e6, 1),
        "days": days,
        "messages": count,
        "accounted_mb": round(stats.pending_bytes / 1e6, 1),
        "file_mb": round(stats.file_bytes / 1e6, 1),
        "dropped": stats.dropped_total,
    }


def pending(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])


def replay(work: Path, broker: Mosquitto, backlog: int) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    spool_path = work / "spool.db"
    t = time.monotonic()
    fill(spool_path, backlog)
    fill_s = time.monotonic() - t
    recorder = Recorder(broker.port, "fleet/v1/lc-bench-01/telemetry/#", limit=1000)
    proc = _agent(
        work,
        broker,
        "[intervals]\nheartbeat = 3600\npower = 3600\n"
        "network = 3600\ncamera = 3600\ndisplay = 3600\n" + PUBACK,
    )
    t0 = time.monotonic()
    first_drop = None
    while (left := pending(spool_path)) > 0 and time.monotonic() - t0 < 600:
        if first_drop is None and left < backlog:
            first_drop = time.monotonic()
        time.sleep(0.05)
    done = time.monotonic()
    proc.terminate()
    proc.wait(20)
    span = done - (first_drop or t0)
    rate = backlog / span if span > 0 else None
    window = SpoolConfig().inflight + 20  # as edge_agent.session sets it
    bare = bare_publish(
        broker.port, recorder.close(), work / "baseline", count=backlog, inflight=window
    )
    return {
        "ratio_over_bare_paho": ratio(rate, bare["msgs_per_s"]),
        "baseline_bare_paho_msgs_per_s": bare["msgs_per_s"],
        "backlog": backlog,
        "spool_fill_seconds": round(fill_s, 1),
        "replay_seconds": round(span, 2),
        "replay_msgs_per_s": round(rate) if rate else None,
        "left_in_spool": pending(spool_path),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=3)
    parser.add_argument("--backlog", type=int, default=100_000)
    parser.add_argument("--spool-days", type=float, default=7, help="days written to the spool")
    parser.add_argument(
        "--proof", action="store_true", help="screen and camera proof: baseline and with proof"
    )
    parser.add_argument(
        "--bytes", action="store_true", help="bytes per board per day: JSON and compact"
    )
    parser.add_argument(
        "--compressed-minutes", type=float, default=15, help="--proof: the compressed phase"
    )
    parser.add_argument(
        "--factor", type=float, default=12, help="--proof: every interval divided by this"
    )
    args = parser.parse_args()
    if args.bytes:
        from bench.agent_bytes import run as run_bytes  # noqa: PLC0415

        emit("agent_bytes", run_bytes(args.minutes, args.factor))
        return
    work = Path(tempfile.mkdtemp(prefix="fleet-agent-bench-"))
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    if args.proof:
        from bench.agent_proof import run  # noqa: PLC0415

        try:
            proof = run(work, broker, args.minutes, args.compressed_minutes, args.factor)
        finally:
            broker.stop()
        emit("agent_proof", proof)
        return
    try:
        foot = footprint(work / "a", broker, args.minutes) if args.minutes else None
        spool = capacity(work / "c", args.spool_days)
        again = replay(work / "b", broker, args.backlog)
    finally:
        broker.stop()
    emit(
        "agent",
        {
            "ratio": {
                "footprint_cpu_over_bare_paho": foot["ratio"]["cpu_over_bare_paho"]
                if foot
                else None,
                "footprint_rss_over_bare_paho": foot["ratio"]["rss_over_bare_paho"]
                if foot
                else None,
                "spool_file_over_payload_bytes": spool["ratio_file_over_payload_bytes"],
                "replay_over_bare_paho": again["ratio_over_bare_paho"],
            },
            "footprint": foot,
            "spool_capacity": spool,
            "replay": again,
            "machine": machine(),
        },
    )


if __name__ == "__main__":
    main()
