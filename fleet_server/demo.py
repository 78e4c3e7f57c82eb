"""``fleet-server demo`` (``fleet-server simulate`` is ``simulator/simulate.py``).

The demo starts, in one process tree, an embedded PostgreSQL (or the
configured ``FLEET_DATABASE_URL``), an embedded MQTT broker (or the
configured ``FLEET_MQTT_URL``), the server roles that exist, and a simulated
fleet of Lai Châu boards; Ctrl-C stops all of it. A second run reuses the
data directory.

The first start writes seven days of history (simulator/history.py); the
engine runs under the demo rule profile (simulator/profile.py) so each
scenario shows its outcome within minutes, as its printed forecast says
(simulator/outcomes.py); notices go to a local mail catcher whose file the
banner names; a restart continues the boards' boots (no reboot counted).
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
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from fleet_server.db.connect import connect
from fleet_server.db.migrate import migrate
from fleet_server.db.roles import url_user
from fleet_server.embedded.broker import EmbeddedBroker
from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.errors import ConfigError
from fleet_server.private_files import write_private
from fleet_server.settings import Settings
from fleet_server.simulator.agents import AgentFleet
from fleet_server.simulator.banner import Banner, print_banner
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.history_records import seed_history
from fleet_server.simulator.profile import DEMO_PROFILE, DemoProfile
from fleet_server.simulator.runtime import Fleet
from fleet_server.simulator.scenarios import SCENARIOS
from fleet_server.simulator.seed import fleet_specs, seed, seed_contacts
from fleet_server.simulator.stage import (
    mail_catcher,
    record_sessions,
    resume_sessions,
    services,
    start_scenario,
    still_open,
)

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
    api_port: int = 8080
    #: the demo's shortened rules and scenario clock (simulator/profile.py)
    profile: DemoProfile = field(default_factory=lambda: DEMO_PROFILE)


#: Up to this many boards, every board is a real edge agent (thread, spool,
#: session); above it, the multiplexed simulator that scales to 10,000.
REAL_AGENTS_UP_TO = 200


def _fleet(
    opts: DemoOptions, specs: list[BoardSpec], mqtt_url: str, data_dir: Path
) -> Fleet | AgentFleet:
    """The simulated boards. A demo restart is no reboot of theirs: real
    agents continue the boot their spools recorded, multiplexed boards the
    one ``sessions.json`` recorded at the last clean stop."""
    profile = opts.profile
    if opts.boards <= REAL_AGENTS_UP_TO:
        return AgentFleet(
            specs,
            mqtt_url,
            data_dir / "agents",
            intervals=profile.intervals(),
            battery_runtime_s=profile.battery_runtime_s,
            resume_boots=True,
        )
    resume_sessions(data_dir / "sessions.json", specs)
    endpoint = urlsplit(mqtt_url)
    return Fleet(
        specs,
        endpoint.hostname or "127.0.0.1",
        endpoint.port or 1883,
        intervals=profile.intervals(),
        battery_runtime_s=profile.battery_runtime_s,
    )


#: The role the demo's services connect as in its embedded PostgreSQL: not the
#: owner, not a superuser (docs/deployment.md "Database roles").
DEMO_APP_ROLE = "fleet_app"


@contextmanager
def _database(
    data_dir: Path, say: Callable[[str], None], jit: bool
) -> Iterator[tuple[str, str, str]]:
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
        with connect(server.url(), autocommit=True, application_name="fleet-demo", jit=jit) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'fleet'").fetchone():
                conn.execute("CREATE DATABASE fleet")
        app_url = server.url("fleet").replace("postgres@", f"{DEMO_APP_ROLE}@", 1)
        yield app_url, server.url("fleet"), f"embedded PostgreSQL, data in {server.data_dir}"
    finally:
        server.stop()


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
    broker = EmbeddedBroker(port, data_dir / "broker.log", data_dir / "broker.pid")
    # A demo that was killed: its broker dies with it (Linux), or is stopped
    # here if it has not yet (embedded/broker.py); nothing else is touched.
    broker.stop_leftover()
    check_port_free(port, "--mqtt-port")
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
    profile = opts.profile
    jit = Settings().db_jit  # FLEET_DB_JIT (db/connect.py), as the services' Settings below
    with ExitStack() as stack:
        db_url, owner_url, db_label = stack.enter_context(_database(data_dir, say, jit))
        mqtt_url, mqtt_label = stack.enter_context(_broker(opts.mqtt_port, data_dir))
        if owner_url == db_url:
            migrate(db_url)
        else:  # the owner migrates and grants; the services run as the application role
            app_role, app_password = url_user(db_url)
            migrate(owner_url, app_role=app_role, app_password=app_password)
        inventory = fleet_specs(opts.boards)
        specs = [b for _, b in inventory]
        with connect(db_url, application_name="fleet-demo", jit=jit) as conn:
            seed(conn, inventory)
            seed_contacts(conn)
            accounts = demo_accounts(conn, data_dir / "accounts.json")
            history = _history(conn, specs, say)
            # before this run's engine resolves or tickets any of them
            earlier = still_open(conn).line()
        mail_port = free_port()
        catcher = stack.enter_context(mail_catcher(data_dir / "notices.txt", mail_port))
        settings = Settings(
            database_url=db_url,
            mqtt_url=mqtt_url,
            ingest_client_id="fleet-demo-ingest",
            data_dir=str(data_dir),  # the broadcast files uploaded in the demo
            # notices go to the mail catcher (no TLS on 127.0.0.1), grouped briefly
            smtp_host="127.0.0.1",
            smtp_port=mail_port,
            smtp_security="none",
            smtp_from="canh-bao@demo.invalid",
            notify_group_window_s=profile.notify_group_s,
            notify_poll_interval_s=1.0,
            console_base_url=f"http://127.0.0.1:{opts.api_port}",
        )
        console_url = stack.enter_context(_api(settings, opts.api_port))
        stack.enter_context(services(settings, profile, say, deliver=catcher is not None))

        fleet = _fleet(opts, specs, mqtt_url, data_dir)
        if earlier is not None:
            say(earlier)
        started = time.monotonic()
        start_scenario(
            fleet, opts.scenario, profile, say, started=lambda: time.monotonic() - started
        )
        fleet.start()
        _write_state(data_dir, db_url, mqtt_url, len(specs), console_url)
        print_banner(
            say,
            Banner(
                db_url=db_url,
                db_label=db_label,
                mqtt_url=mqtt_url,
                mqtt_label=mqtt_label,
                boards=len(specs),
                sites=len({b.site for b in specs}),
                scenario=opts.scenario,
                console_url=console_url,
                accounts=accounts,
                roles={u: role for u, _, role, _ in DEMO_ACCOUNTS},
                accounts_file=data_dir / "accounts.json",
                profile=profile,
                mail_file=catcher.path if catcher else None,
                mail_port=mail_port if catcher else None,
                history=history,
            ),
        )
        deadline = None if opts.duration is None else started + opts.duration
        try:
            fleet.run(
                lambda: stop.is_set() or (deadline is not None and time.monotonic() >= deadline)
            )
        finally:
            fleet.stop()
            if isinstance(fleet, Fleet):
                record_sessions(data_dir / "sessions.json", fleet)
            say("đang dừng / stopping …")


def _history(
    conn: psycopg.Connection[tuple[object, ...]], specs: list[BoardSpec], say: Callable[[str], None]
) -> str:
    """Seven days of history on the first start; what the banner says of it."""
    if len(specs) > REAL_AGENTS_UP_TO:  # a scale run: a week of 10,000 boards is no demo
        return f"none (over {REAL_AGENTS_UP_TO} boards)"
    seeded = seed_history(conn, specs, datetime.now(UTC))
    if seeded is None:
        return "kept from an earlier run"
    say(
        f"lịch sử 7 ngày / 7 days of history: {seeded.telemetry_rows} readings,"
        f" {seeded.incidents} incidents, {seeded.tickets} tickets,"
        f" {seeded.board_days} board-days judged ({seeded.seconds:.1f} s)"
    )
    return f"7 days, written on this first start in {seeded.seconds:.1f} s"


def _write_state(data_dir: Path, db_url: str, mqtt_url: str, boards: int, console_url: str) -> None:
    """demo.json for scripts and tests. Written whole, then renamed: a
    reader never sees half a file."""
    state = data_dir / "demo.json.tmp"
    state.write_text(
        json.dumps(
            {
                "database_url": db_url,
                "mqtt_url": mqtt_url,
                "pid": os.getpid(),
                "boards": boards,
                "console_url": console_url,
                "accounts_file": str(data_dir / "accounts.json"),
                "notices_file": str(data_dir / "notices.txt"),
            }
        )
    )
    state.replace(data_dir / "demo.json")
