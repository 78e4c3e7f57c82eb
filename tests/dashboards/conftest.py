"""A fleet with a day of history for the Grafana dashboards' queries: the
simulator's inventory, telemetry stored by ingest's own BatchWriter, the
hourly rollups, connectivity history, incidents, tickets with costs,
compliance days and a maintenance window. One database per storage variant
and module; plain PostgreSQL always, TimescaleDB when the test server has it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

import fleet_protocol as fp
from fleet_server.dashboards import roles as grafana_roles
from fleet_server.db.migrate import migrate
from fleet_server.incidents import storage as incidents
from fleet_server.incidents.models import IncidentSpec
from fleet_server.simulator.seed import fleet_specs, seed
from fleet_server.telemetry.storage import Accepted, BatchWriter
from fleet_server.telemetry.storage_upkeep import ROLLUP_TABLES, is_plain, refresh_rollups
from fleet_server.tickets import storage as tickets
from fleet_server.tickets import storage_costs as ticket_costs
from tests.support.postgres import DatabaseFactory, with_dbname

Conn = psycopg.Connection[Any]

#: Telemetry every 20 minutes over the last 26 hours, the newest a minute ago.
STEP = timedelta(minutes=20)
HISTORY = timedelta(hours=26)


@dataclass(frozen=True)
class SeededFleet:
    url: str
    variant: str
    now: datetime
    #: the province's Grafana reader (every organisation), made by `dashboards roles`
    reader: str
    boards: list[str]
    #: organisation code -> its Grafana reader role
    readers: dict[str, str]
    password: str


def _database(factory: DatabaseFactory, variant: str) -> str:
    """A migrated, empty database of ``variant``."""
    if factory.variant == variant:
        return factory.create()
    if variant == "timescale":
        pytest.skip(
            "the timescaledb extension is not installed in the test PostgreSQL "
            "(set FLEET_TEST_DATABASE_URL to a server that preloads it)"
        )
    # A TimescaleDB server: plain PostgreSQL's variant in a database of its own.
    name = f"fleet_dash_plain_{os.getpid()}"
    with psycopg.connect(factory.admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = with_dbname(factory.admin_url, name)
    migrate(url, timescale=False)
    return url


def _message(kind: fp.TelemetryKind, device: str, seq: int, at: datetime, data: Any) -> Accepted:
    message: Any = fp.TELEMETRY_MODELS[kind](
        schema_version=1, device_id=device, boot=1, seq=seq, measured_at=at, sent_at=at, data=data
    )
    return Accepted(message, at, fp.telemetry_topic(device, kind), fp.encode(message))


def _readings(index: int, device: str, at: datetime, ago: timedelta) -> list[Any]:
    """One reading of each kind; boards 0-2 lose mains 5 to 8 hours ago, board
    0's second camera times out for the last 3 hours, board 1's refuses its
    login."""
    hours = ago / timedelta(hours=1)
    mains = not (index < 3 and 5 <= hours <= 8)
    statuses = []
    for camera in ("cam1", "cam2"):
        failing = (index == 0 and camera == "cam2" and hours <= 3) or index == 1
        status: Literal["timeout", "unauthorized"] = "timeout" if index == 0 else "unauthorized"
        statuses.append(
            fp.CameraStatus(
                camera_id=camera,
                reachable=not (failing and status == "timeout"),
                rtsp_answered=not failing,
                status=status if failing else "ok",
                latency_ms=None if failing else 80.0 + 10 * index,
            )
        )
    return [
        (
            fp.TelemetryKind.HEARTBEAT,
            fp.HeartbeatData(
                uptime_s=int(hours * 3600),
                agent_version="0.1.0",
                cpu_percent=12.5,
                memory_percent=40,
                disk_percent=30,
                temperature_c=45,
            ),
        ),
        (
            fp.TelemetryKind.POWER,
            fp.PowerData(
                source="ups",
                mains_present=mains,
                on_battery=not mains,
                low_battery=not mains and hours < 6,
                battery_percent=100.0 if mains else 55.0,
                runtime_s=3600 if mains else 1500,
                input_voltage_v=220.0 if mains else 0.0,
                ups_status="OL" if mains else "OB",
            ),
        ),
        (
            fp.TelemetryKind.NETWORK,
            fp.NetworkData(
                interface="wwan0",
                link_up=not (index == 5 and hours < 1),
                target="8.8.8.8",
                rtt_ms=60.0 + 15 * index,
                loss_percent=float(index % 4),
                lte=fp.LteData(
                    operator="Viettel",
                    access_tech="LTE",
                    signal_percent=70,
                    rsrp_dbm=-85.0 - 3 * index,
                ),
            ),
        ),
        (fp.TelemetryKind.CAMERA, fp.CameraData(cameras=statuses)),
        (
            fp.TelemetryKind.DISPLAY,
            fp.DisplayData(screen_on=True, player_running=True, content_kind="propaganda"),
        ),
    ]


def _telemetry(conn: Conn, boards: list[tuple[str, list[str]]], now: datetime) -> None:
    writer = BatchWriter(conn)
    batch: list[Accepted] = []
    for index, (device, cameras) in enumerate(boards):
        seq = 0
        at = now - HISTORY
        while at < now:
            for kind, reading in _readings(index, device, at, now - at):
                data = reading
                if kind is fp.TelemetryKind.CAMERA:  # only the cameras the board has
                    data = fp.CameraData(
                        cameras=[c for c in reading.cameras if c.camera_id in cameras]
                    )
                batch.append(_message(kind, device, seq, at, data))
                seq += 1
            at += STEP
    for start in range(0, len(batch), 2000):
        writer.write(batch[start : start + 2000], [])


def _rollups(url: str, owner_url: str, now: datetime) -> None:
    """Plain PostgreSQL: the engine's rollups, as the application; TimescaleDB:
    refresh the continuous aggregates as their owner (its refresh policies run
    as the owner too; the application may not)."""
    since, until = now - HISTORY - timedelta(hours=2), now + timedelta(hours=2)
    with psycopg.connect(url, autocommit=True) as conn:
        if is_plain(conn):
            refresh_rollups(conn, since, until)
            return
    with psycopg.connect(owner_url, autocommit=True) as conn:
        for view in ROLLUP_TABLES:  # CALL cannot run inside a transaction
            conn.execute("CALL refresh_continuous_aggregate(%s, %s, %s)", (view, since, until))


def _status(conn: Conn, board: str, changes: list[tuple[datetime, str]]) -> None:
    previous = None
    for at, state in changes:
        conn.execute(
            "INSERT INTO board_status_history (board_id, at, state, previous, reason)"
            " VALUES (%s, %s, %s, %s, %s)",
            (board, at, state, previous, None if state == "online" else "no heartbeat"),
        )
        previous = state
    at, state = changes[-1]
    conn.execute(
        "INSERT INTO board_status (board_id, state, reason, since, last_seen_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (board, state, None if state == "online" else "no heartbeat", at, at),
    )


def _history(conn: Conn, boards: list[str], now: datetime) -> None:
    """Everyone online three days ago; board 2 was offline for two hours,
    board 3 is lost, board 4 stale; the last board has no state at all."""
    for index, board in enumerate(boards[:-1]):
        changes = [(now - timedelta(days=3), "online")]
        if index == 2:
            changes += [
                (now - timedelta(hours=10), "offline"),
                (now - timedelta(hours=8), "online"),
            ]
        elif index == 3:
            changes.append((now - timedelta(hours=2), "lost"))
        elif index == 4:
            changes.append((now - timedelta(hours=1), "stale"))
        _status(conn, board, changes)


def _site(conn: Conn, board: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT s.id, s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = %s",
        (board,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _incidents(conn: Conn, boards: list[str], now: datetime) -> None:
    actor = "engine:test"
    lost_site, lost_org = _site(conn, boards[3])
    lost, _ = incidents.open_incident(
        conn,
        IncidentSpec(
            f"board_lost:{boards[3]}",
            "board_lost",
            "technical",
            "critical",
            "Bảng mất kết nối / Board lost",
            boards[3],
            lost_site,
            lost_org,
        ),
        now - timedelta(hours=2),
        actor=actor,
    )
    site, org = _site(conn, boards[0])
    camera, _ = incidents.open_incident(
        conn,
        IncidentSpec(
            f"camera_unreachable:{boards[0]}:cam2",
            "camera_unreachable",
            "technical",
            "major",
            "Camera không kết nối / Camera unreachable",
            boards[0],
            site,
            org,
        ),
        now - timedelta(hours=3),
        actor=actor,
    )
    incidents.acknowledge(conn, camera.id, now - timedelta(hours=2, minutes=40), actor="an.nguyen")
    power, _ = incidents.open_incident(
        conn,
        IncidentSpec(
            f"mains_lost:{boards[1]}",
            "mains_lost",
            "technical",
            "major",
            "Mất điện lưới / Mains lost",
            boards[1],
            *_site(conn, boards[1]),
        ),
        now - timedelta(hours=8),
        actor=actor,
    )
    incidents.acknowledge(conn, power.id, now - timedelta(hours=7, minutes=50), actor="an.nguyen")
    incidents.resolve(conn, power.id, now - timedelta(hours=5), actor=actor)
    child, _ = incidents.open_incident(
        conn,
        IncidentSpec(
            f"board_stale:{boards[3]}",
            "board_stale",
            "technical",
            "minor",
            "Bảng im lặng / Board stale",
            boards[3],
            lost_site,
            lost_org,
        ),
        now - timedelta(hours=2),
        actor=actor,
    )
    incidents.attach(conn, child.id, lost.id, now - timedelta(hours=2), actor=actor)
    # an organisation's security incident that names no site
    incidents.open_incident(
        conn,
        IncidentSpec(
            f"security:credentials:{org}",
            "credential_abuse",
            "security",
            "major",
            "Đăng nhập bất thường / Credential abuse",
            None,
            None,
            org,
        ),
        now - timedelta(hours=1),
        actor=actor,
    )


def _tickets(conn: Conn, boards: list[str], now: datetime) -> None:
    site, _ = _site(conn, boards[3])
    overdue, _ = tickets.create(
        conn,
        site_id=site,
        board_id=boards[3],
        kind="corrective",
        priority="urgent",
        title="Bảng mất kết nối / Board unreachable",
        actor="engine:test",
        now=now - timedelta(hours=10),
    )
    ticket_costs.add_cost(
        conn,
        overdue.id,
        category="internet",
        description="Thẻ 4G dự phòng",
        amount_vnd=Decimal(150000),
        actor="an.nguyen",
        now=now - timedelta(hours=9),
    )
    site, _ = _site(conn, boards[1])
    fixed, _ = tickets.create(
        conn,
        site_id=site,
        board_id=boards[1],
        kind="corrective",
        priority="high",
        title="Thay ắc quy UPS / Replace the UPS battery",
        actor="an.nguyen",
        now=now - timedelta(hours=20),
    )
    tickets.assign(conn, fixed.id, "binh.tran", actor="an.nguyen", now=now - timedelta(hours=19))
    tickets.transition(
        conn, fixed.id, "in_progress", actor="binh.tran", now=now - timedelta(hours=18)
    )
    ticket_costs.add_cost(
        conn,
        fixed.id,
        category="power",
        description="Ắc quy 12 V 9 Ah",
        quantity=Decimal("2.5"),
        amount_vnd=Decimal(450001),
        actor="binh.tran",
        now=now - timedelta(hours=17),
    )
    ticket_costs.add_cost(
        conn,
        fixed.id,
        category="repair",
        description="Công thay",
        amount_vnd=Decimal(200000),
        actor="binh.tran",
        now=now - timedelta(hours=17),
    )
    tickets.transition(conn, fixed.id, "resolved", actor="binh.tran", now=now - timedelta(hours=16))
    tickets.create(
        conn,
        site_id=site,
        board_id=None,
        kind="preventive",
        priority="normal",
        title="Vệ sinh màn hình / Clean the screen",
        actor="an.nguyen",
        now=now - timedelta(hours=1),
    )


def _compliance(conn: Conn, boards: list[str], today: date) -> None:
    """Three judged days per board, verdicts in turn; today pending."""
    verdicts = ["compliant", "non_compliant", "unknown", "exempt"]
    rows = []
    for index, board in enumerate(boards):
        for back in (1, 2, 3):
            status = verdicts[(index + back) % len(verdicts)]
            minutes = 180.0 if status in ("compliant", "unknown") else 95.5
            rows.append(
                (
                    board,
                    today - timedelta(days=back),
                    minutes,
                    minutes + 5,
                    minutes * 2 + 120,
                    12.0 * (index % 3),
                    30.0 if status == "exempt" else 0.0,
                    10.0 if status == "unknown" else 0.0,
                    0.0,
                    status,
                )
            )
        rows.append((board, today, 60.0, 0.0, 60.0, 0.0, 0.0, 0.0, 180.0, "pending"))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
            " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
            " afternoon_unknown, status, basis)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, '{}')",
            rows,
        )


def _readers(owner_url: str, variant: str) -> tuple[str, dict[str, str], str]:
    """Grafana's roles as `fleet-server dashboards roles` makes them, under
    names of this test process (roles are the server's, not the database's)."""
    prefix = f"g{os.getpid()}_{variant}_"
    password = secrets.token_urlsafe(16)
    with psycopg.connect(owner_url) as conn:
        found = grafana_roles.readers(
            conn, province_role=prefix + "province", prefix=prefix + "org_"
        )
    environ = {reader.password_variable: password for reader in found}
    done = grafana_roles.sync_roles(
        owner_url, environ=environ, province_role=prefix + "province", prefix=prefix + "org_"
    )
    organisations = {r.organisation_code: r.role for r, _ in done if r.organisation_code}
    return prefix + "province", organisations, password


def _drop_roles(admin_url: str, roles: list[str]) -> None:
    with psycopg.connect(admin_url, autocommit=True) as admin:
        for role in roles:
            admin.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


@pytest.fixture(scope="module", params=["plain", "timescale"])
def fleet(request: pytest.FixtureRequest, db_factory: DatabaseFactory) -> Iterator[SeededFleet]:
    variant = str(request.param)
    url = _database(db_factory, variant)
    now = datetime.now(UTC).replace(microsecond=0)
    roles: list[str] = []
    try:
        with psycopg.connect(url) as conn:
            specs = fleet_specs(14)
            seed(conn, specs)
            boards = [b.device_id for _, b in specs]
            _telemetry(conn, [(b.device_id, b.cameras) for _, b in specs], now)
            with conn.transaction():
                _history(conn, boards, now)
                _incidents(conn, boards, now)
                _tickets(conn, boards, now)
                local_today = (now + timedelta(hours=7)).date()
                _compliance(conn, boards, local_today)
                conn.execute(
                    "INSERT INTO maintenance_windows (site_id, starts_at, ends_at, reason,"
                    " created_by) SELECT site_id, %s, %s, 'Thay tủ điện', 'an.nguyen'"
                    " FROM boards WHERE id = %s",
                    (now - timedelta(hours=9), now - timedelta(hours=7), boards[2]),
                )
        _rollups(url, db_factory.owner_url(url), now)
        province, organisations, password = _readers(db_factory.owner_url(url), variant)
        roles = [province, *organisations.values()]
        yield SeededFleet(url, variant, now, province, boards, organisations, password)
    finally:
        db_factory.drop(url)
        _drop_roles(db_factory.admin_url, roles)


def grafana_connection(fleet: SeededFleet, role: str | None = None) -> Conn:
    """A connection that logs in as a Grafana reader role (the province's by
    default), as Grafana's data source does: read only, 60 s timeout, from
    the role's own settings."""
    parts = urlsplit(fleet.url)
    netloc = f"{quote(role or fleet.reader)}:{quote(fleet.password)}@{parts.hostname}"
    if parts.port:
        netloc += f":{parts.port}"
    conn = psycopg.connect(urlunsplit(parts._replace(netloc=netloc)), autocommit=True)
    assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
    return conn
