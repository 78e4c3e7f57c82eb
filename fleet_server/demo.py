"""``fleet-server demo`` (``fleet-server simulate`` is ``simulator/simulate.py``).

The demo starts, in one process tree, an embedded PostgreSQL (or the
configured ``FLEET_DATABASE_URL``), an embedded MQTT broker (or the
configured ``FLEET_MQTT_URL``), the server roles that exist, and a simulated
fleet of Lai Châu boards; Ctrl-C stops all of it. A second run reuses the
data directory.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from fleet_server.db.migrate import migrate
from fleet_server.db.roles import url_user
from fleet_server.embedded.broker import EmbeddedBroker
from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.engine.service import Engine
from fleet_server.errors import ConfigError
from fleet_server.ingest.service import IngestService
from fleet_server.private_files import write_private
from fleet_server.settings import Settings
from fleet_server.simulator.agents import AgentFleet
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.runtime import Fleet
from fleet_server.simulator.scenarios import SCENARIOS, Timing
from fleet_server.simulator.seed import fleet_specs, seed, seed_contacts

log = logging.getLogger(__name__)


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "laichau-fleet" / "demo"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_port_free(port: int, flag: str) -> None:
    with socket.socket() as sock:
        # As a server would: connections of a previous run in TIME_WAIT do not
        # count, a socket that listens does.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise ConfigError(
                f"port {port} on 127.0.0.1 is already in use ({exc.strerror}); "
                f"choose another with {flag}"
            ) from None


def check_writable(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"data directory {path} is not writable ({exc.strerror}); "
            "choose another with --data-dir"
        ) from None


@dataclass
class DemoOptions:
    boards: int = 20
    mqtt_port: int = 18830
    data_dir: Path | None = None
    scenario: str = "normal"
    duration: float | None = None
    battery_runtime_s: float = 180.0
    api_port: int = 8080


#: Up to this many boards, every board is a real edge agent (thread, spool,
#: session); above it, the multiplexed simulator that scales to 10,000.
REAL_AGENTS_UP_TO = 200


def _fleet(
    opts: DemoOptions, specs: list[BoardSpec], mqtt_url: str, data_dir: Path
) -> Fleet | AgentFleet:
    if opts.boards <= REAL_AGENTS_UP_TO:
        return AgentFleet(
            specs, mqtt_url, data_dir / "agents", battery_runtime_s=opts.battery_runtime_s
        )
    boots = _boots(data_dir / "boots.json", [s.device_id for s in specs])
    for spec in specs:
        spec.boot = boots[spec.device_id]
    endpoint = urlsplit(mqtt_url)
    return Fleet(
        specs,
        endpoint.hostname or "127.0.0.1",
        endpoint.port or 1883,
        battery_runtime_s=opts.battery_runtime_s,
    )


def _boots(path: Path, device_ids: list[str]) -> dict[str, int]:
    """Each demo start is a new boot of every board (persisted)."""
    try:
        boots: dict[str, int] = json.loads(path.read_text())
    except (OSError, ValueError):
        boots = {}
    boots = {d: boots.get(d, 0) + 1 for d in device_ids}
    path.write_text(json.dumps(boots))
    return boots


#: The role the demo's services connect as in its embedded PostgreSQL: not the
#: owner, not a superuser (docs/deployment.md "Database roles").
DEMO_APP_ROLE = "fleet_app"


@contextmanager
def _database(data_dir: Path, say: Callable[[str], None]) -> Iterator[tuple[str, str, str]]:
    """(the services' URL, the owner's URL for migrations, a label)."""
    configured = os.environ.get("FLEET_DATABASE_URL")
    if configured:
        owner = os.environ.get("FLEET_DATABASE_OWNER_URL") or configured
        yield configured, owner, "FLEET_DATABASE_URL"
        return
    server = EmbeddedPostgres(data_dir / "pg", free_port())
    if server.initialise():
        say("khởi tạo PostgreSQL nhúng / initialised the embedded PostgreSQL")
    elif server.is_running():
        server.stop()  # left over by a demo that was killed
    server.start()
    try:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'fleet'").fetchone():
                conn.execute("CREATE DATABASE fleet")
        app_url = server.url("fleet").replace("postgres@", f"{DEMO_APP_ROLE}@", 1)
        yield app_url, server.url("fleet"), f"embedded PostgreSQL, data in {server.data_dir}"
    finally:
        server.stop()


@contextmanager
def _engine(db_url: str) -> Iterator[Engine]:
    """The engine role in a thread (no e-mail in the demo: no SMTP server)."""
    engine = Engine(db_url)
    stop = threading.Event()
    thread = threading.Thread(target=engine.run_forever, args=(stop,), name="engine")
    thread.start()
    try:
        yield engine
    finally:
        stop.set()
        thread.join(30)


#: The demo's personal accounts: (username, full name, role, organisation code).
DEMO_ACCOUNTS = (
    ("quan.tri", "Quản trị Sở TT&TT", "admin", "so-tttt"),
    ("van.hanh", "Trực ban Ban QL Khu kinh tế", "operator", "bql-kkt"),
    ("ky.thuat", "Kỹ thuật viên biên giới", "technician", "bql-kkt"),
    ("bien.phong", "Trực ban Bộ đội Biên phòng", "border_guard", "bdbp"),
)


def demo_accounts(conn: psycopg.Connection[tuple[object, ...]], path: Path) -> dict[str, str]:
    """Create the demo's accounts once, each with its own random password,
    kept (mode 0600) in ``path`` and shown in the start-up table. Nothing
    has a default password."""
    from fleet_server.users.service import create_account  # noqa: PLC0415

    try:
        known: dict[str, str] = json.loads(path.read_text())
    except (OSError, ValueError):
        known = {}
    for username, full_name, role, org in DEMO_ACCOUNTS:
        exists = conn.execute("SELECT 1 FROM users WHERE username = %s", (username,)).fetchone()
        if exists and username in known:
            continue
        password = "-".join(secrets.token_urlsafe(4) for _ in range(4))
        if exists:  # the password file was lost: a new password, recorded as a reset
            from fleet_server.users.passwords import hash_password  # noqa: PLC0415

            conn.execute(
                "UPDATE users SET password_hash = %s WHERE username = %s",
                (hash_password(password), username),
            )
        else:
            org_row = conn.execute(
                "SELECT id FROM organisations WHERE code = %s", (org,)
            ).fetchone()
            create_account(
                conn,
                username=username,
                full_name=full_name,
                role=role,
                password=password,
                actor="system:demo",
                organisation_id=int(str(org_row[0])) if org_row else None,
            )
        known[username] = password
    conn.execute(
        "INSERT INTO site_teams (site_id, team) SELECT id, 'to-ky-thuat-bien-gioi' FROM sites"
        " WHERE kind = 'border_gate' ON CONFLICT (site_id) DO NOTHING"
    )
    conn.execute("UPDATE users SET team = 'to-ky-thuat-bien-gioi' WHERE username = 'ky.thuat'")
    conn.commit()
    # The demo accounts' passwords: 0600 from creation, whatever the umask.
    write_private(path, json.dumps(known, indent=2).encode())
    return known


@contextmanager
def _api(settings: Settings, port: int) -> Iterator[str]:
    """The API and web console (uvicorn) in a thread, on 127.0.0.1 only."""
    import uvicorn  # noqa: PLC0415

    from fleet_server.api.app import create_app  # noqa: PLC0415

    check_port_free(port, "--api-port")
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        # uvicorn would believe X-Forwarded-For from 127.0.0.1 (every local
        # process): the demo trusts no proxy (api/addresses.py).
        proxy_headers=False,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="api")
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not server.started:
            raise ConfigError(f"the web console did not start on port {port}")
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(30)


@contextmanager
def _broker(port: int, data_dir: Path) -> Iterator[tuple[str, str]]:
    configured = os.environ.get("FLEET_MQTT_URL")
    if configured:
        yield configured, "FLEET_MQTT_URL"
        return
    check_port_free(port, "--mqtt-port")
    broker = EmbeddedBroker(port, data_dir / "broker.log")
    broker.start()
    try:
        yield broker.url, "embedded amqtt broker (MQTT 3.1.1), 127.0.0.1 only"
    finally:
        broker.stop()


def run_demo(opts: DemoOptions, stop: threading.Event, say: Callable[[str], None] = print) -> None:
    if opts.scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario {opts.scenario!r}; one of {', '.join(SCENARIOS)}")
    data_dir = (opts.data_dir or default_data_dir()).expanduser().resolve()
    check_writable(data_dir)
    with ExitStack() as stack:
        db_url, owner_url, db_label = stack.enter_context(_database(data_dir, say))
        mqtt_url, mqtt_label = stack.enter_context(_broker(opts.mqtt_port, data_dir))
        if owner_url == db_url:
            migrate(db_url)
        else:  # the owner migrates and grants; the services run as the application role
            app_role, app_password = url_user(db_url)
            migrate(owner_url, app_role=app_role, app_password=app_password)
        inventory = fleet_specs(opts.boards)
        with psycopg.connect(db_url) as conn:
            seed(conn, inventory)
            seed_contacts(conn)
            accounts = demo_accounts(conn, data_dir / "accounts.json")
        specs = [b for _, b in inventory]

        settings = Settings(
            database_url=db_url,
            mqtt_url=mqtt_url,
            ingest_client_id="fleet-demo-ingest",
            data_dir=str(data_dir),  # the broadcast files uploaded in the demo
        )
        console_url = stack.enter_context(_api(settings, opts.api_port))
        ingest = IngestService(settings)
        ingest.start()
        stack.callback(ingest.stop)
        if not ingest.consumer.subscribed.wait(15):  # the boards' first messages count
            say("warning: the broker has not confirmed ingest's subscriptions yet")
        stack.enter_context(_engine(db_url))

        fleet = _fleet(opts, specs, mqtt_url, data_dir)
        started = time.monotonic()

        def timeline(text: str) -> None:
            elapsed = int(time.monotonic() - started)
            say(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {opts.scenario}: {text}")

        SCENARIOS[opts.scenario](fleet, timeline, Timing())
        fleet.start()
        # Written whole, then renamed: a reader never sees half a file.
        state = data_dir / "demo.json.tmp"
        state.write_text(
            json.dumps(
                {
                    "database_url": db_url,
                    "mqtt_url": mqtt_url,
                    "pid": os.getpid(),
                    "boards": len(specs),
                    "console_url": console_url,
                    "accounts_file": str(data_dir / "accounts.json"),
                }
            )
        )
        state.replace(data_dir / "demo.json")
        _print_table(
            say,
            db_url=db_url,
            db_label=db_label,
            mqtt_url=mqtt_url,
            mqtt_label=mqtt_label,
            boards=len(specs),
            sites=len({b.site for b in specs}),
            scenario=opts.scenario,
            console_url=console_url,
            accounts=accounts,
            accounts_file=data_dir / "accounts.json",
        )
        deadline = None if opts.duration is None else started + opts.duration
        try:
            fleet.run(
                lambda: stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
            )
        finally:
            fleet.stop()
            say("đang dừng / stopping …")


def _print_table(
    say: Callable[[str], None],
    *,
    db_url: str,
    db_label: str,
    mqtt_url: str,
    mqtt_label: str,
    boards: int,
    sites: int,
    scenario: str,
    console_url: str,
    accounts: dict[str, str],
    accounts_file: Path,
) -> None:
    roles = {u: role for u, _, role, _ in DEMO_ACCOUNTS}
    rows = [
        ("Bảng điều khiển / Console", console_url, "web console, Vietnamese / English"),
        ("API", f"{console_url}api/v1/docs", "OpenAPI; POST /api/v1/auth/token for a token"),
        *(
            ("Đăng nhập / Log in", f"{user} / {accounts[user]}", roles[user])
            for user in roles
            if user in accounts
        ),
        ("Mật khẩu / Passwords", str(accounts_file), "random, made on the first run"),
        ("Cơ sở dữ liệu / Database", db_url, db_label),
        ("MQTT broker", mqtt_url, mqtt_label),
        (
            "Bảng tin / Boards",
            f"{boards} boards at {sites} sites",
            f"simulated, scenario {scenario}",
        ),
        ("Xem dữ liệu / Look", f"psql {db_url}", "e.g. SELECT * FROM board_latest;"),
        (
            "Sự cố / Incidents",
            "SELECT id, title, state FROM incidents;",
            "raised by the engine as the scenario unfolds",
        ),
        ("Dừng / Stop", "Ctrl-C", "stops everything it started"),
    ]
    width = max(len(r[0]) for r in rows)
    say("Cụm thông tin điện tử công cộng Lai Châu — bản trình diễn / demo")
    for label, value, note in rows:
        say(f"  {label.ljust(width)}  {value}  ({note})")
