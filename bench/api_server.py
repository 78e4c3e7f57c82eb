"""The API benchmark's database and server (``bench/api.py``): a loaded
database (reused when it holds the same volumes; the extras appended once),
the API served by uvicorn in its own processes, a bearer token and a
console session per account."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil
import psycopg

from bench.api_data import Volumes, load, table_sizes, unresolved_counts
from bench.api_data_availability import load_availability_days
from bench.api_data_extras import load_extras
from fleet_server.db.migrate import migrate
from fleet_server.embedded.postgres import EmbeddedPostgres
from tests.support.ports import free_port

REPO = Path(__file__).resolve().parents[1]
DB_NAME = "fleet_api_bench"
PASSWORD = "Bang-tin-Lai-Chau-2026"
ACCOUNTS = {"admin": "quan.tri", "operator": "van.hanh"}
#: the operator's organisation (its sites are the operator's scope)
OPERATOR_ORGANISATION = "bql-kkt"
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
        url = admin.rsplit("/", 1)[0] + "/" + args.database_name
        with psycopg.connect(admin, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()
            info["postgresql"] = version[0] if version else "?"
            if pg is None:  # a server on this machine: its CPU counted apart
                info.setdefault("postmaster_pid", _postmaster(conn))
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (args.database_name,)
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
        if exists and not loaded and not args.reload:
            # Still loading, or other volumes: never dropped without being asked.
            raise SystemExit(
                f"database {args.database_name} exists but holds no finished load of"
                f" {volumes}; wait for its load or pass --reload to replace it"
            )
        if not loaded:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {args.database_name} WITH (FORCE)")
                conn.execute(f"CREATE DATABASE {args.database_name}")
            migrate(url)
            info.update(load_data(url, volumes))
        info["extras"] = extras(url, volumes)
        yield url, info
    finally:
        if pg is not None:
            pg.stop(mode="fast" if args.keep else "immediate")


def _postmaster(conn: psycopg.Connection[Any]) -> int | None:
    """The server's postmaster when it runs on this machine (the parent of
    this connection's backend), else None: its CPU (every session's, not
    only the benchmark's) is then reported as ``postgres``, not ``others``."""
    row = conn.execute("SELECT pg_backend_pid()").fetchone()
    with contextlib.suppress(psutil.Error, TypeError):
        parent = psutil.Process(int(row[0]) if row else -1).parent()
        return parent.pid if parent is not None else None
    return None


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


def extras(url: str, volumes: Volumes) -> dict[str, float]:
    """The extras' rows (``bench/api_data_extras.py``), appended once."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)

    def report(step: str, s: float) -> None:
        print(f"  loaded {step:<34} {s:7.1f} s", file=sys.stderr)

    with psycopg.connect(url, autocommit=True) as conn:
        timings = load_extras(conn, now, volumes.days, report)
        return timings | load_availability_days(conn, now, report)


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
                "--loop",
                getattr(args, "loop", "auto"),
                "--http",
                getattr(args, "http", "auto"),
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
