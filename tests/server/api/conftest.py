"""API fixtures: a seeded database with one account per role, the app on an
injectable clock, and clients logged in as each account."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.incidents.models import IncidentSpec
from fleet_server.incidents.storage import open_incident
from fleet_server.settings import Settings
from tests.server.engine.conftest import Store
from tests.support import seed
from tests.support.clock import Clock
from tests.support.ports import free_port

Conn = psycopg.Connection[Any]
PASSWORD = "Bang-tin-Lai-Chau-2026"


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    organisation: str | None
    team: str | None = None
    sites: tuple[str, ...] = ()


#: One account per role and scope. The seeded fleet (14 boards) has border gates
#: run by bql-kkt (cameras guarded by bdbp) and district centres run by the
#: district committees.
ACCOUNTS = {
    "admin": Account("quan.tri", "admin", None),
    "province": Account("so.tttt", "viewer", "so-tttt"),
    "operator": Account("van.hanh", "operator", "bql-kkt"),
    "district": Account("phong.tho", "operator", "ubnd-phong-tho"),
    "technician": Account("ky.thuat", "technician", "bql-kkt", team="to-ky-thuat-bien-gioi"),
    "guard": Account("bien.phong", "border_guard", "bdbp"),
    "viewer": Account("xem", "viewer", "bql-kkt"),
}


@pytest.fixture(scope="session")
def password_hash() -> str:
    """Argon2id with small parameters: verifying reads them from the hash,
    so every login in the API tests is cheap while the code path is the real
    one (production hashes use argon2-cffi's defaults)."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(PASSWORD)


def _seed_accounts(conn: Conn, password_hash: str) -> None:
    for site in seed.sites_of_kind(conn, "border_gate"):
        seed.site_team(conn, site, "to-ky-thuat-bien-gioi")
    for account in ACCOUNTS.values():
        seed.user(
            conn,
            account.username,
            account.role,
            organisation=account.organisation,
            team=account.team,
            sites=account.sites,
            password_hash=password_hash,
        )


@pytest.fixture
def api_db(db_url: str, password_hash: str) -> str:
    with psycopg.connect(db_url) as conn:
        seed.demo_fleet(conn, 14)
        _seed_accounts(conn, password_hash)
    return db_url


@pytest.fixture
def clock() -> Clock:
    return Clock()


def api_settings(db_url: str) -> Settings:
    """Settings for an app under test: its broker URL names a free port where
    nothing listens, so a command posted by a test stays queued and never
    reaches a broker that happens to run on this machine (e.g. on 1883)."""
    return Settings(database_url=db_url, mqtt_url=f"mqtt://127.0.0.1:{free_port()}")


@pytest.fixture
def app(api_db: str, clock: Clock) -> Iterator[FastAPI]:
    settings = api_settings(api_db)
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://testserver", client=("127.0.0.1", 50000)) as test_client:
        yield test_client


def token_for(client: TestClient, key: str) -> str:
    response = client.post(
        "/api/v1/auth/token", data={"username": ACCOUNTS[key].username, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


class As:
    """A client that sends one account's bearer token."""

    def __init__(self, client: TestClient, key: str) -> None:
        self.client = client
        self.key = key
        self.headers = {"Authorization": f"Bearer {token_for(client, key)}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self.headers, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.headers, **kw)


@pytest.fixture
def as_(client: TestClient) -> Any:
    """``as_("operator")`` -> a client logged in as that account."""
    cache: dict[str, As] = {}

    def make(key: str) -> As:
        if key not in cache:
            cache[key] = As(client, key)
        return cache[key]

    return make


@pytest.fixture
def store(api_db: str, clock: Clock) -> Iterator[Store]:
    """Board messages written through ingest's own writer, at the clock's time."""
    s = Store(api_db, clock)
    yield s
    s.conn.close()


def set_status(conn: Conn, board_id: str, state: str, at: datetime, reason: str = "") -> None:
    """Record a connectivity change as the engine does."""
    conn.execute(
        "INSERT INTO board_status (board_id, state, reason, since, last_seen_at)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (board_id) DO UPDATE SET"
        " state = EXCLUDED.state, reason = EXCLUDED.reason, since = EXCLUDED.since",
        (board_id, state, reason or None, at, at),
    )
    conn.execute(
        "INSERT INTO board_status_history (board_id, at, state, reason) VALUES (%s, %s, %s, %s)",
        (board_id, at, state, reason or None),
    )


@pytest.fixture
def db_conn(api_db: str) -> Iterator[Conn]:
    with psycopg.connect(api_db, autocommit=True) as conn:
        yield conn


def open_test_incident(
    conn: Conn,
    board_id: str,
    rule: str = "board_offline",
    *,
    incident_class: str = "technical",
    severity: str = "major",
    now: datetime | None = None,
) -> int:
    """An incident on a board, opened as the engine opens one."""
    row = conn.execute(
        "SELECT b.site_id, s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = %s",
        (board_id,),
    ).fetchone()
    assert row is not None
    spec = IncidentSpec(
        dedupe_key=f"{rule}:{board_id}",
        rule=rule,
        incident_class=incident_class,  # type: ignore[arg-type]
        severity=severity,  # type: ignore[arg-type]
        title=f"{rule} on {board_id}",
        board_id=board_id,
        site_id=row[0],
        organisation_id=row[1],
    )
    with conn.transaction():
        incident, _ = open_incident(conn, spec, now or datetime.now(UTC), actor=f"engine:{rule}")
    return incident.id


def audit_actions(conn: Conn, since_id: int = 0) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT actor, action FROM audit_log WHERE id > %s ORDER BY id", (since_id,)
        )
    ]
