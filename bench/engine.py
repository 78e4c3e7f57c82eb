"""Engine benchmark: 10,000 simulated boards (heartbeat every 30 s) through
Mosquitto → ingest → PostgreSQL, one `fleet-server engine` (with its
notification worker) and a local SMTP server. Then a 50-board site loses
power at once (last wills) and 5 boards freeze (heartbeats stop). Measures:
last will → incident row, missed heartbeat → incident row, incident → e-mail
accepted by the SMTP server, and the engine's CPU.

Same-run baseline (issue 20): the engine's mean pass time in the steady
state (its own ``fleet_engine_evaluation_duration_seconds`` histogram, read
from its /metrics before and after), against a bare SQL loop on one
connection that makes the same reads a pass makes — the enabled boards and
their sites, the state messages and the newest heartbeats stored since the
previous pass (one pass interval back), the rule conditions and the
unresolved incidents — in one transaction, without evaluating a rule or
writing a row. ``ratio`` (engine pass ÷ bare reads) comes first.

    .venv/bin/python -m bench.engine --boards 10000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psutil
import psycopg
from aiosmtpd.controller import Controller

from bench.baseline import emit, machine, ratio
from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.places import Place
from fleet_server.simulator.runtime import Fleet
from fleet_server.simulator.seed import fleet_specs, seed
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
OUTAGE_SITE = Place(
    "bench-outage",
    "Điểm thử mất điện",
    "Bench outage site",
    "border_gate",
    "Phong Thổ",
    22.6,
    103.3,
    "bql-kkt",
)


class Sink:
    """Keeps when each e-mail was accepted, by subject."""

    def __init__(self) -> None:
        self.received: list[tuple[float, str]] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        text = envelope.original_content.decode(errors="replace")
        self.received.append((time.time(), text))
        return "250 OK"


def _one(conn: psycopg.Connection[Any], sql: str, *args: Any) -> Any:
    row = conn.execute(sql, args).fetchone()
    return None if row is None else row[0]


#: what one engine pass reads, bare: no rule evaluated, nothing written
BARE_PASS = (
    "SELECT b.id, b.site_id, s.organisation_id, b.heartbeat_interval_s"
    " FROM boards b JOIN sites s ON s.id = b.site_id WHERE b.enabled",
    "SELECT device_id, status, boot, seq, received_at, reason, heartbeat_interval_s"
    " FROM board_states WHERE stored_at >= now() - %(back)s ORDER BY received_at, boot, seq",
    "SELECT device_id, received_at FROM board_latest WHERE kind = 'heartbeat'"
    " AND stored_at >= now() - %(back)s",
    "SELECT dedupe_key, rule, active, active_since, inactive_since, flips FROM rule_conditions",
    "SELECT * FROM incidents WHERE state <> 'resolved'",
)


def pass_metrics(port: int) -> tuple[float, float]:
    """The engine's passes so far: (count, seconds in them), from its /metrics."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = {"_sum": 0.0, "_count": 0.0}
    for line in text.splitlines():
        for suffix in found:
            if line.startswith(f"fleet_engine_evaluation_duration_seconds{suffix} "):
                found[suffix] = float(line.split()[1])
    return found["_count"], found["_sum"]


def bare_passes(db_url: str, passes: int, interval_s: float) -> float:
    """Mean seconds of ``passes`` bare reads of what a pass reads."""
    back = timedelta(seconds=interval_s)
    with psycopg.connect(db_url) as conn:
        conn.execute("SELECT 1").fetchall()  # connected and warm, as the engine's
        conn.commit()
        started = time.perf_counter()
        for _ in range(passes):
            for sql in BARE_PASS:
                conn.execute(sql, {"back": back}).fetchall()
            conn.commit()
        return (time.perf_counter() - started) / passes


def run(args: argparse.Namespace) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="fleet-engine-bench-"))
    broker = Mosquitto(work / "mosquitto")
    broker.start()
    pg = EmbeddedPostgres(work / "pg", free_port(), durable=True)
    pg.initialise()
    pg.start()
    sink = Sink()
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    procs: list[subprocess.Popen[bytes]] = []
    fleet: Fleet | None = None
    stop_fleet = threading.Event()
    try:
        with psycopg.connect(pg.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE fleet")
        db_url = pg.url("fleet")
        migrate(db_url)
        inventory = fleet_specs(args.boards - 50)
        outage = [
            (OUTAGE_SITE, BoardSpec(f"lc-outage-{i:02d}", OUTAGE_SITE.code, ["cam1"]))
            for i in range(50)
        ]
        with psycopg.connect(db_url, autocommit=True) as conn:
            seed(conn, inventory + outage)
            contact = _one(
                conn,
                "INSERT INTO contacts (name, email) VALUES"
                " ('Trực kỹ thuật', 'truc@bench.invalid') RETURNING id",
            )
            conn.execute(
                "INSERT INTO notification_routes (incident_class, channel, contact_id)"
                " VALUES ('technical', 'email', %s)",
                (contact,),
            )
        env = dict(
            os.environ,
            FLEET_DATABASE_URL=db_url,
            FLEET_MQTT_URL=broker.url,
            FLEET_SMTP_HOST="127.0.0.1",
            FLEET_SMTP_PORT=str(smtp.port),
            FLEET_SMTP_SECURITY="none",
            FLEET_SMTP_FROM="canh-bao@bench.invalid",
            FLEET_NOTIFY_GROUP_WINDOW_S="0",
            FLEET_ENGINE_METRICS_PORT=str(metrics_port := free_port()),
        )
        log = (work / "server.log").open("ab")
        for role in ("ingest", "engine"):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "fleet_server.cli", "--log-level", "WARNING", role],
                    cwd=REPO,
                    env=env,
                    stdout=log,
                    stderr=log,
                )
            )
        engine_ps = psutil.Process(procs[1].pid)
        fleet = Fleet(
            [b for _, b in inventory + outage], "127.0.0.1", broker.port, connect_rate=1000
        )
        fleet.start()
        thread = threading.Thread(target=fleet.run, args=(stop_fleet.is_set,), daemon=True)
        thread.start()
        with psycopg.connect(db_url, autocommit=True) as db:
            t0 = time.monotonic()
            while (
                _one(db, "SELECT count(*) FROM board_status WHERE state = 'online'") < args.boards
                and time.monotonic() - t0 < 300
            ):
                time.sleep(1)
            online_s = time.monotonic() - t0
            cpu0, wall0 = engine_ps.cpu_times(), time.monotonic()
            passes0, pass_s0 = pass_metrics(metrics_port)
            time.sleep(args.steady)  # steady state: 10k boards heartbeating
            cpu1, wall1 = engine_ps.cpu_times(), time.monotonic()
            passes1, pass_s1 = pass_metrics(metrics_port)
            cpu_s = (cpu1.user + cpu1.system) - (cpu0.user + cpu0.system)
            steady_cpu = 100 * cpu_s / (wall1 - wall0)
            passes = passes1 - passes0
            engine_pass_s = (pass_s1 - pass_s0) / passes if passes else None
            interval_s = (wall1 - wall0) / passes if passes else 1.0
            bare_pass_s = bare_passes(db_url, max(5, min(int(passes), 50)), interval_s)
            # 1. a whole site loses power: 50 last wills at once
            cut_at = datetime.now(UTC)
            for board in list(fleet.boards.values())[-50:]:
                fleet.power_off(board)
            while (
                not _one(db, "SELECT count(*) FROM incidents WHERE rule = 'site_outage'")
                and (datetime.now(UTC) - cut_at).total_seconds() < 60
            ):
                time.sleep(0.1)
            site = db.execute(
                "SELECT id, opened_at FROM incidents WHERE rule = 'site_outage'"
            ).fetchone()
            lost = [
                r[0]
                for r in db.execute(
                    "SELECT extract(epoch FROM opened_at - %s) FROM incidents"
                    " WHERE rule = 'board_lost'",
                    (cut_at,),
                )
            ]
            deadline = time.time() + 30
            while (
                not any("Toàn điểm" in text or "site" in text.lower() for _, text in sink.received)
                and time.time() < deadline
            ):
                time.sleep(0.1)
            mail_at = min((t for t, text in sink.received), default=None)
            # 2. five boards freeze: process alive, heartbeat stopped
            frozen = list(fleet.boards.values())[:5]
            for board in frozen:
                board.stuck = True
            ids = [b.device_id for b in frozen]
            t_frozen = time.time()
            while (
                _one(
                    db,
                    "SELECT count(*) FROM incidents WHERE rule = 'board_stale'"
                    " AND board_id = ANY(%s)",
                    ids,
                )
                < 5
                and time.time() - t_frozen < 200
            ):
                time.sleep(0.5)
            stale = [
                r[0]
                for r in db.execute(
                    """SELECT extract(epoch FROM i.opened_at - (
                       SELECT received_at FROM board_latest
                        WHERE device_id = i.board_id AND kind = 'heartbeat'))
                     FROM incidents i WHERE i.rule = 'board_stale' AND i.board_id = ANY(%s)""",
                    (ids,),
                )
            ]
        cpu2 = engine_ps.cpu_times()
        return {
            "ratio_engine_pass_over_bare_reads": ratio(engine_pass_s, bare_pass_s),
            "engine_pass_ms_steady": round(1000 * engine_pass_s, 2) if engine_pass_s else None,
            "baseline_bare_reads_ms": round(1000 * bare_pass_s, 2),
            "engine_passes_per_s_steady": round(passes / (wall1 - wall0), 2),
            # the engine process's CPU per pass (its delivery worker included):
            # what of the pass time is work, not waiting for PostgreSQL
            "engine_cpu_ms_per_pass_steady": round(1000 * cpu_s / passes, 1) if passes else None,
            "boards": args.boards,
            "seconds_until_all_online_in_engine": round(online_s, 1),
            "engine_cpu_percent_of_one_core_steady": round(steady_cpu, 1),
            "engine_cpu_seconds_total": round(cpu2.user + cpu2.system, 1),
            "last_will_to_board_incident_s": {
                "count": len(lost),
                "median": round(float(statistics.median(lost)), 2) if lost else None,
                "max": round(float(max(lost)), 2) if lost else None,
            },
            "last_will_to_site_incident_s": round((site[1] - cut_at).total_seconds(), 2)
            if site
            else None,
            "site_incident_to_email_accepted_s": round(mail_at - site[1].timestamp(), 2)
            if site and mail_at
            else None,
            "missed_heartbeat_to_incident_s": {
                "count": len(stale),
                "max": round(float(max(stale)), 1) if stale else None,
                "limit": "3 x 30 s + 5 s = 95 s",
            },
            "machine": machine(),
        }
    finally:
        stop_fleet.set()
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:  # a long pass under load: the result stands
                proc.kill()
                proc.wait()
        smtp.stop()
        broker.stop()
        pg.stop(mode="immediate")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", type=int, default=10_000)
    parser.add_argument("--steady", type=float, default=60, help="seconds of steady state")
    emit("engine", run(parser.parse_args()))


if __name__ == "__main__":
    main()
