"""API benchmark: 10,000 boards with 6 months of history (``bench/api_data.py``),
the API served by uvicorn in its own processes, and 50 concurrent clients on
the fleet overview, the board list, the board page and the incidents list,
as the admin (province-wide) and as an operator (one organisation's boards).

    .venv/bin/python -m bench.api                       # load, then measure
    .venv/bin/python -m bench.api --pg-dir /var/tmp/fleet-api-bench --keep
    .venv/bin/python -m bench.api --pg-dir /var/tmp/fleet-api-bench   # reuse the data

Each scenario runs for ``--duration`` seconds twice: with the clients
back-to-back (``think 0``: the server's capacity, latency is mostly queueing
— by Little's law the mean is clients / throughput) and with each client
pausing a random ~1 s between requests (``think 1``: 50 people using the
console at once, about 50 requests/s offered). The load generator is one
Python process (asyncio + httpx) on the same two cores as the server and
PostgreSQL; ``--wrk`` adds a second opinion from wrk (C) for a few URLs.

Target (issue 6): p99 ≤ 100 ms for lists and board pages.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil
import psycopg
from fastapi import FastAPI

from bench.api_data import Volumes, load, table_sizes, unresolved_counts
from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DB_NAME = "fleet_api_bench"
PASSWORD = "Bang-tin-Lai-Chau-2026"
ACCOUNTS = {"admin": "quan.tri", "operator": "van.hanh"}
#: PostgreSQL for a 24 GiB machine shared with the API: more cache than the
#: embedded default, room for the bulk load.
PG_SETTINGS = {
    "shared_buffers": "'2GB'",
    "effective_cache_size": "'8GB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'1GB'",
    "max_wal_size": "'16GB'",
    "checkpoint_timeout": "'30min'",
}


def app_factory() -> FastAPI:
    """What each uvicorn worker serves (``--factory``): the production app,
    configured from ``FLEET_*`` variables like ``fleet-server api``."""
    from fleet_server.api.app import create_app  # noqa: PLC0415
    from fleet_server.settings import Settings  # noqa: PLC0415

    return create_app(Settings())


# -- database -------------------------------------------------------------------------


@contextlib.contextmanager
def database(args: argparse.Namespace, volumes: Volumes) -> Iterator[tuple[str, dict[str, Any]]]:
    """A loaded database: reused when ``--pg-dir`` already holds one."""
    info: dict[str, Any] = {}
    pg = None
    if args.database_url:
        admin = args.database_url
        info["server"] = "--database-url"
    else:
        pg_dir = Path(args.pg_dir or tempfile.mkdtemp(prefix="fleet-api-bench-")) / "pg"
        pg = EmbeddedPostgres(pg_dir, free_port(), durable=True, extra_settings=PG_SETTINGS)
        pg.initialise()
        pg.start()
        admin = pg.url()
        info["server"] = f"embedded PostgreSQL ({pg_dir}, fsync on, shared_buffers 2GB)"
        info["postmaster_pid"] = int((pg_dir / "postmaster.pid").read_text().split()[0])
    try:
        url = admin.rsplit("/", 1)[0] + "/" + DB_NAME
        with psycopg.connect(admin, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            info["postgresql"] = version[0] if version else "?"
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)
            ).fetchone()
        loaded = False
        if exists and not args.reload:
            with psycopg.connect(url) as conn:
                meta = None
                if conn.execute("SELECT to_regclass('bench_meta')").fetchone() != (None,):
                    row = conn.execute(
                        "SELECT value FROM bench_meta WHERE key = 'volumes'"
                    ).fetchone()
                    loaded = row is not None and row[0] == json.dumps(volumes.__dict__)
                    meta = conn.execute(
                        "SELECT value FROM bench_meta WHERE key = 'load'"
                    ).fetchone()
            if loaded and meta:
                info.update(json.loads(meta[0]))
                info["reused"] = True
                print("reusing the loaded database", file=sys.stderr)
                migrate(url)  # migrations added since it was loaded
        if not loaded:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {DB_NAME}")
            migrate(url)
            info.update(load_data(url, volumes))
        yield url, info
    finally:
        if pg is not None:
            pg.stop(mode="fast" if args.keep else "immediate")


def load_data(url: str, volumes: Volumes) -> dict[str, Any]:
    from fleet_server.users.passwords import hash_password  # noqa: PLC0415

    now = datetime.now(UTC).replace(second=0, microsecond=0)
    password_hash = hash_password(PASSWORD)  # once, for every account

    def report(step: str, seconds: float) -> None:
        print(f"  loaded {step:<34} {seconds:7.1f} s", file=sys.stderr)

    print(f"loading {volumes} ...", file=sys.stderr)
    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        steps = load(conn, volumes, now, password_hash, report)
        sizes = table_sizes(conn)
        incidents = unresolved_counts(conn)
        db_size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        row = db_size.fetchone()
        result = {
            "loaded_at": now.isoformat(),
            "load_seconds": round(time.monotonic() - t0, 1),
            "load_steps_seconds": {k: round(v, 1) for k, v in steps.items()},
            "tables": sizes,
            "incidents_by_state": incidents,
            "database_size": row[0] if row else "?",
        }
        conn.execute("CREATE TABLE bench_meta (key text PRIMARY KEY, value text NOT NULL)")
        conn.execute(
            "INSERT INTO bench_meta VALUES ('volumes', %s), ('load', %s)",
            (json.dumps(volumes.__dict__), json.dumps(result)),
        )
    return result


# -- the server -----------------------------------------------------------------------


@contextlib.contextmanager
def api_server(url: str, args: argparse.Namespace) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = dict(
        os.environ,
        FLEET_DATABASE_URL=url,
        FLEET_API_POOL_SIZE=str(args.pool_size),
        FLEET_API_TOKEN_TTL_S="86400",
        FLEET_API_SESSION_IDLE_S="86400",
        FLEET_MQTT_URL="mqtt://127.0.0.1:1",  # readiness only; never called here
    )
    log = Path(tempfile.mkstemp(prefix="fleet-api-bench-", suffix=".log")[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                args.app,
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(args.workers),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.3)
        yield base, proc
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(base: str, username: str) -> str:
    response = httpx.post(
        f"{base}/api/v1/auth/token", data={"username": username, "password": PASSWORD}
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def console_session(base: str, username: str) -> str | None:
    """A console session cookie, or None when the app has no console login."""
    with httpx.Client(base_url=base) as client:
        form = client.get("/login")
        if form.status_code != 200:
            return None
        token = next((v for k, v in form.cookies.items() if "csrf" in k.lower()), None)
        if token is None:
            return None
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
            cookies=dict(form.cookies),
            follow_redirects=False,
        )
        return response.cookies.get("fleet_session")


# -- scenarios ------------------------------------------------------------------------

Pick = Callable[[random.Random], tuple[str, str]]


@dataclass
class Scenario:
    name: str
    role: str
    #: target of the issue's p99 ≤ 100 ms (lists and board pages)
    targeted: bool
    picks: list[Pick]
    console: bool = False


@dataclass
class Ids:
    boards: dict[str, list[str]] = field(default_factory=dict)
    sites: dict[str, list[int]] = field(default_factory=dict)
    incidents: dict[str, int] = field(default_factory=dict)


def fleet_ids(url: str) -> Ids:
    ids = Ids()
    with psycopg.connect(url) as conn:
        org = "(SELECT id FROM organisations WHERE code = 'bql-kkt')"
        ids.boards["admin"] = [str(r[0]) for r in conn.execute("SELECT id FROM boards")]
        ids.boards["operator"] = [
            str(r[0])
            for r in conn.execute(
                f"SELECT b.id FROM boards b JOIN sites s ON s.id = b.site_id"
                f" WHERE s.organisation_id = {org}"
            )
        ]
        ids.sites["admin"] = [int(r[0]) for r in conn.execute("SELECT id FROM sites")]
        ids.sites["operator"] = [
            int(r[0]) for r in conn.execute(f"SELECT id FROM sites WHERE organisation_id = {org}")
        ]
        total = conn.execute("SELECT count(*) FROM incidents").fetchone()
        ids.incidents["admin"] = int(total[0]) if total else 0
        mine = conn.execute(f"SELECT count(*) FROM incidents WHERE organisation_id = {org}")
        row = mine.fetchone()
        ids.incidents["operator"] = int(row[0]) if row else 0
    return ids


def fixed(label: str, path: str) -> Pick:
    return lambda _rng: (label, path)


def choose(label: str, template: str, values: list[Any]) -> Pick:
    """``template`` with ``{}`` replaced by a random one of ``values``."""
    return lambda rng: (label, template.format(rng.choice(values)))


def scenarios(ids: Ids, console: bool) -> list[Scenario]:
    out: list[Scenario] = []
    week_ago = quote((datetime.now(UTC) - timedelta(days=7)).isoformat(timespec="seconds"))
    for role in ("admin", "operator"):
        boards, sites = ids.boards[role], ids.sites[role]
        pages = max(1, min(ids.incidents[role] // 50, 200))
        overview = [
            fixed("GET /fleet/summary", "/api/v1/fleet/summary"),
            fixed("GET /sites/health", "/api/v1/sites/health"),
        ]
        board_list = [
            fixed("GET /boards?limit=50", "/api/v1/boards?limit=50"),
            choose(
                "GET /boards?sort=-last_seen_at&offset=…",
                "/api/v1/boards?limit=50&sort=-last_seen_at&offset={}",
                list(range(0, 2000, 50)),
            ),
            fixed(
                "GET /boards?state=offline&sort=-state_since",
                "/api/v1/boards?limit=50&state=offline&sort=-state_since",
            ),
            fixed("GET /boards?q=phong", "/api/v1/boards?limit=50&q=phong"),
            choose("GET /boards?site_id=…", "/api/v1/boards?site_id={}", sites),
        ]
        board_page = [
            choose("GET /boards/{id}", "/api/v1/boards/{}", boards),
            *[
                choose(
                    f"GET /boards/{{id}}/telemetry/{kind} (24 h)",
                    f"/api/v1/boards/{{}}/telemetry/{kind}",
                    boards,
                )
                for kind in ("heartbeat", "power", "network", "camera")
            ],
        ]
        incidents = [
            fixed("GET /incidents?state=open", "/api/v1/incidents?state=open"),
            fixed(
                "GET /incidents?state=open&state=acknowledged&sort=-opened_at",
                "/api/v1/incidents?state=open&state=acknowledged&sort=-opened_at",
            ),
            fixed(
                "GET /incidents?severity=critical&since=7 d",
                f"/api/v1/incidents?severity=critical&since={week_ago}",
            ),
            choose(
                "GET /incidents?sort=-opened_at&offset=… (history)",
                "/api/v1/incidents?sort=-opened_at&offset={}",
                [50 * page for page in range(pages)],
            ),
        ]
        out += [
            Scenario("fleet overview", role, False, overview),
            Scenario("board list", role, True, board_list),
            Scenario("board page", role, True, board_page),
            Scenario("incidents list", role, True, incidents),
        ]
        if console:
            out += [
                Scenario("console: overview", role, False, [fixed("GET /", "/")], True),
                Scenario(
                    "console: board page",
                    role,
                    True,
                    [choose("GET /boards/{id}", "/boards/{}", boards)],
                    True,
                ),
                Scenario(
                    "console: incidents", role, True, [fixed("GET /incidents", "/incidents")], True
                ),
            ]
    return out


# -- load -----------------------------------------------------------------------------


@dataclass
class Sample:
    label: str
    status: int
    seconds: float


class Connection:
    """One keep-alive HTTP/1.1 connection, as a browser tab holds one: a
    minimal client on asyncio streams (httpx's pool cost more CPU per request
    than the server's handlers, on the same two cores)."""

    def __init__(self, host: str, port: int, headers: dict[str, str]) -> None:
        self.host, self.port = host, port
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.head = f"Host: {host}:{port}\r\n{extra}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.last_used = 0.0

    async def get(self, path: str) -> int:
        # uvicorn closes a connection idle for 5 s; a browser opens a new one.
        if time.monotonic() - self.last_used > 4:
            self.close()
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        reader, writer = self.reader, self.writer
        writer.write(f"GET {path} HTTP/1.1\r\n{self.head}".encode("latin-1"))
        await writer.drain()
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionError("closed")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            while size := int((await reader.readline()).split(b";")[0], 16):
                await reader.readexactly(size + 2)
            await reader.readline()
        else:
            await reader.readexactly(length)
        if close:
            self.close()
        self.last_used = time.monotonic()
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def _client(
    connection: Connection,
    scenario: Scenario,
    *,
    rng: random.Random,
    think: float,
    warm_until: float,
    stop_at: float,
    out: list[Sample],
) -> None:
    await asyncio.sleep(rng.random() * min(0.5, think or 0.05))  # do not all start at once
    while time.monotonic() < stop_at:
        label, path = rng.choice(scenario.picks)(rng)
        t0 = time.monotonic()
        try:
            status = await asyncio.wait_for(connection.get(path), 30)
        except (OSError, ValueError, IndexError, TimeoutError, asyncio.IncompleteReadError):
            connection.close()
            status = 599
        t1 = time.monotonic()
        if t0 >= warm_until and t1 <= stop_at:
            out.append(Sample(label, status, t1 - t0))
        if think:
            await asyncio.sleep(rng.expovariate(1 / think))
    connection.close()


async def _run(
    base: str,
    scenario: Scenario,
    *,
    headers: dict[str, str],
    clients: int,
    think: float,
    duration: float,
    warmup: float,
    seed: int,
) -> tuple[list[Sample], float]:
    host, port = base.removeprefix("http://").split(":")
    samples: list[Sample] = []
    start = time.monotonic()
    warm_until = start + warmup
    stop_at = warm_until + duration
    await asyncio.gather(
        *[
            _client(
                Connection(host, int(port), headers),
                scenario,
                rng=random.Random(seed * 1000 + i),
                think=think,
                warm_until=warm_until,
                stop_at=stop_at,
                out=samples,
            )
            for i in range(clients)
        ]
    )
    return samples, duration


def _pct(sorted_ms: list[float], q: float) -> float:
    if not sorted_ms:
        return float("nan")
    index = min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms)) - 1))
    return sorted_ms[index]


def summarise(samples: list[Sample], seconds: float) -> dict[str, Any]:
    ms = sorted(s.seconds * 1000 for s in samples)
    return {
        "requests": len(ms),
        "rps": round(len(ms) / seconds, 1),
        "p50_ms": round(_pct(ms, 0.50), 1),
        "p95_ms": round(_pct(ms, 0.95), 1),
        "p99_ms": round(_pct(ms, 0.99), 1),
        "max_ms": round(ms[-1], 1) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
        "errors": sum(1 for s in samples if s.status >= 400),
    }


def cpu_of(processes: list[psutil.Process]) -> float:
    total = 0.0
    for proc in processes:
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def server_processes(api: subprocess.Popen[bytes], postmaster: int | None) -> dict[str, Any]:
    me = psutil.Process(api.pid)
    out: dict[str, Any] = {"api": [me, *me.children(recursive=True)]}
    if postmaster:
        pg = psutil.Process(postmaster)
        out["postgres"] = [pg, *pg.children(recursive=True)]
    return out


def busy_cpu() -> float:
    """CPU seconds the whole machine spent busy (every process, ours or not)."""
    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def measure(
    base: str,
    api: subprocess.Popen[bytes],
    scenario: Scenario,
    *,
    headers: dict[str, str],
    args: argparse.Namespace,
    think: float,
    postmaster: int | None,
) -> dict[str, Any]:
    procs = server_processes(api, postmaster)
    me = psutil.Process()
    cpu0 = {k: cpu_of(v) for k, v in procs.items()} | {"load generator": cpu_of([me])}
    busy0 = busy_cpu()
    wall0 = time.monotonic()
    samples, seconds = asyncio.run(
        _run(
            base,
            scenario,
            headers=headers,
            clients=args.clients,
            think=think,
            duration=args.duration,
            warmup=args.warmup,
            seed=args.seed,
        )
    )
    wall = time.monotonic() - wall0
    cpu1 = {k: cpu_of(v) for k, v in procs.items()} | {"load generator": cpu_of([me])}
    cores = {k: round((cpu1[k] - cpu0[k]) / wall, 2) for k in cpu0}
    # Other sessions' work on the same machine (tests, builds): not ours.
    cores["others"] = round(max(0.0, (busy_cpu() - busy0) / wall - sum(cores.values())), 2)
    by_label: dict[str, list[Sample]] = {}
    for s in samples:
        by_label.setdefault(s.label, []).append(s)
    return {
        "scenario": scenario.name,
        "role": scenario.role,
        "think_s": think,
        "targeted": scenario.targeted,
        **summarise(samples, seconds),
        "cpu_cores": cores,
        "endpoints": {label: summarise(v, seconds) for label, v in sorted(by_label.items())},
        "status_codes": sorted({s.status for s in samples}),
    }


# -- wrk ------------------------------------------------------------------------------

WRK_LUA = """
local ids = {}
for line in io.lines(os.getenv("BENCH_IDS")) do ids[#ids + 1] = line end
local template = os.getenv("BENCH_PATH")
math.randomseed(os.time())
request = function()
  local path = template:gsub("{id}", ids[math.random(#ids)])
  return wrk.format("GET", path, {["Authorization"] = os.getenv("BENCH_AUTH")})
end
"""


def run_wrk(base: str, token: str, ids: list[str], args: argparse.Namespace) -> dict[str, str]:
    """wrk's latency distribution for a few URLs (50 connections, 2 threads)."""
    out: dict[str, str] = {}
    work = Path(tempfile.mkdtemp(prefix="fleet-api-wrk-"))
    (work / "ids.txt").write_text("\n".join(ids) + "\n")
    (work / "random.lua").write_text(WRK_LUA)
    for path in (
        "/api/v1/boards/{id}",
        "/api/v1/boards/{id}/telemetry/heartbeat",
        "/api/v1/boards?limit=50",
        "/api/v1/incidents?state=open",
    ):
        env = dict(
            os.environ,
            BENCH_IDS=str(work / "ids.txt"),
            BENCH_PATH=path,
            BENCH_AUTH=f"Bearer {token}",
        )
        result = subprocess.run(
            [
                "wrk",
                "-t2",
                f"-c{args.clients}",
                f"-d{int(args.duration)}s",
                "--latency",
                "-s",
                str(work / "random.lua"),
                base,
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        out[path] = result.stdout.strip() or result.stderr.strip()
        print(f"\nwrk {path}\n{out[path]}", file=sys.stderr)
    return out


# -- main -----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": psutil.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def print_table(results: list[dict[str, Any]]) -> None:
    header = (
        f"{'scenario':<22} {'role':<8} {'think':>5} {'req/s':>7} {'p50':>7} {'p95':>7} "
        f"{'p99':>7} {'max':>7} {'err':>4}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r['scenario']:<22} {r['role']:<8} {r['think_s']:>5} {r['rps']:>7} "
            f"{r['p50_ms']:>7} {r['p95_ms']:>7} {r['p99_ms']:>7} {r['max_ms']!s:>7} "
            f"{r['errors']:>4}"
        )
        for label, e in r["endpoints"].items():
            print(
                f"    {label[:54]:<54} {e['rps']:>7} {e['p50_ms']:>7} {e['p95_ms']:>7} "
                f"{e['p99_ms']:>7}"
            )


def run(args: argparse.Namespace) -> dict[str, Any]:
    volumes = Volumes(
        boards=args.boards,
        sites=args.sites,
        days=args.days,
        incidents=args.incidents,
        unresolved=args.unresolved,
        raw_hours=args.raw_hours,
        raw_interval_s=args.raw_interval,
        rollup_days=args.rollup_days,
    )
    report: dict[str, Any] = {"machine": machine(), "volumes": volumes.__dict__}
    with database(args, volumes) as (url, info):
        report["data"] = info
        if args.load_only:
            return report
        ids = fleet_ids(url)
        with api_server(url, args) as (base, api):
            tokens = {role: login(base, name) for role, name in ACCOUNTS.items()}
            cookies = {role: console_session(base, name) for role, name in ACCOUNTS.items()}
            has_console = all(cookies.values()) and not args.no_console
            report["server"] = {
                "uvicorn_workers": args.workers,
                "pool_size_per_worker": args.pool_size,
                "console_measured": has_console,
            }
            results = []
            for scenario in scenarios(ids, has_console):
                if args.only and not any(o in scenario.name for o in args.only):
                    continue
                if scenario.console:
                    headers = {"Cookie": f"fleet_session={cookies[scenario.role]}"}
                else:
                    headers = {"Authorization": f"Bearer {tokens[scenario.role]}"}
                for think in args.think:
                    result = measure(
                        base,
                        api,
                        scenario,
                        headers=headers,
                        args=args,
                        think=think,
                        postmaster=info.get("postmaster_pid"),
                    )
                    results.append(result)
                    print(
                        f"{scenario.name:<22} {scenario.role:<8} think {think}: "
                        f"{result['rps']} req/s p50 {result['p50_ms']} p99 {result['p99_ms']}"
                        f" errors {result['errors']} cpu {result['cpu_cores']}",
                        file=sys.stderr,
                    )
            report["results"] = results
            if args.wrk:
                report["wrk"] = run_wrk(base, tokens["admin"], ids.boards["admin"], args)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--boards", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=2_500)
    parser.add_argument("--days", type=int, default=182, help="history (incidents, status)")
    parser.add_argument("--incidents", type=int, default=200_000, help="resolved, about")
    parser.add_argument(
        "--unresolved", type=int, default=800, help="open besides those of boards down now"
    )
    parser.add_argument("--raw-hours", type=int, default=24, help="raw telemetry kept")
    parser.add_argument("--raw-interval", type=int, default=300, help="seconds between samples")
    parser.add_argument("--rollup-days", type=int, default=182, help="hourly rollups kept")
    parser.add_argument("--database-url", help="admin URL of an existing server")
    parser.add_argument("--pg-dir", help="embedded PostgreSQL here (kept data is reused)")
    parser.add_argument("--keep", action="store_true", help="stop PostgreSQL cleanly at the end")
    parser.add_argument("--reload", action="store_true", help="load again even if loaded")
    parser.add_argument("--load-only", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    parser.add_argument("--pool-size", type=int, default=8, help="connections per worker")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=20, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument(
        "--think", type=float, nargs="+", default=[0, 1], help="mean pause per client, s"
    )
    parser.add_argument("--only", nargs="*", help="scenario names containing these words")
    parser.add_argument("--no-console", action="store_true")
    parser.add_argument("--wrk", action="store_true", help="also measure a few URLs with wrk")
    parser.add_argument("--seed", type=int, default=6)
    parser.add_argument(
        "--app",
        default="bench.api:app_factory",
        help="uvicorn factory to serve (to measure a variant: module:function on PYTHONPATH)",
    )
    args = parser.parse_args()
    report = run(args)
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"api-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(report, indent=2, default=str))
    if "results" in report:
        print_table(report["results"])
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
