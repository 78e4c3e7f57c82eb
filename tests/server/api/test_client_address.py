"""The client's address behind a reverse proxy: X-Forwarded-For is believed
only from a proxy listed in FLEET_API_TRUSTED_PROXIES, so the per-address
login limit is per client (not one limit for the whole province behind the
proxy) and the audit log names the client — and nobody else can rotate the
header to escape the limit or forge the audited address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.addresses import client_address
from fleet_server.api.app import create_app
from fleet_server.demo import _api
from fleet_server.settings import Settings
from tests.server.api.conftest import PASSWORD, api_settings
from tests.support.clock import Clock
from tests.support.ports import free_port

PROXY = ("10.0.0.2", 40000)
LIMIT = 3  # failed logins per address and window


def login(client: TestClient, username: str, password: str, forwarded: str | None) -> Any:
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}
    return client.post(
        "/api/v1/auth/token", data={"username": username, "password": password}, headers=headers
    )


def failed_addresses(db_conn: Any) -> list[str]:
    rows = db_conn.execute(
        "SELECT host(address) FROM audit_log WHERE action = 'login_failed' ORDER BY id"
    )
    return [r[0] for r in rows]


def make_app(api_db: str, clock: Clock, **settings: Any) -> Iterator[FastAPI]:
    base = api_settings(api_db)
    built = Settings(**{**base.model_dump(), "api_address_failures": LIMIT, **settings})
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(built, clock=clock, pool=pool, broker_check=lambda: None)


@pytest.fixture
def behind_proxy(api_db: str, clock: Clock) -> Iterator[TestClient]:
    """The API behind a proxy at 10.0.0.2, which it trusts."""
    for app in make_app(api_db, clock, api_trusted_proxies="10.0.0.0/24"):
        with TestClient(app, client=PROXY) as client:
            yield client


@pytest.fixture
def untrusting(api_db: str, clock: Clock) -> Iterator[TestClient]:
    """The default: no proxy trusted; the peer is 127.0.0.1 (as in the demo)."""
    for app in make_app(api_db, clock):
        with TestClient(app, client=("127.0.0.1", 40000)) as client:
            yield client


@pytest.mark.parametrize(
    ("peer", "header", "expected"),
    [
        ("10.0.0.2", ["203.0.113.5"], "203.0.113.5"),
        # what the client wrote itself lies left of what the proxy appended
        ("10.0.0.2", ["1.2.3.4, 203.0.113.5"], "203.0.113.5"),
        ("10.0.0.2", ["1.2.3.4", "203.0.113.5, 10.0.0.3"], "203.0.113.5"),  # two proxies
        ("10.0.0.2", [], "10.0.0.2"),
        ("10.0.0.2", ["10.0.0.3"], "10.0.0.3"),  # only proxies: the furthest one
        ("10.0.0.2", ["nonsense, 10.0.0.3"], "10.0.0.3"),
        ("10.0.0.2", ["::ffff:203.0.113.5"], "203.0.113.5"),
        ("198.51.100.9", ["203.0.113.5"], "198.51.100.9"),  # not a proxy: header ignored
        ("testclient", ["203.0.113.5"], None),
    ],
)
def test_the_rule(peer: str, header: list[str], expected: str | None) -> None:
    assert client_address(peer, header, ("10.0.0.0/24",)) == expected


def test_nothing_is_trusted_by_default() -> None:
    assert Settings().api_trusted_proxies == ()
    assert client_address("127.0.0.1", ["203.0.113.5"], ()) == "127.0.0.1"


def test_the_setting_takes_a_comma_separated_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEET_API_TRUSTED_PROXIES", "10.0.0.2, 192.168.0.0/16,::1")
    assert Settings().api_trusted_proxies == ("10.0.0.2/32", "192.168.0.0/16", "::1/128")
    monkeypatch.setenv("FLEET_API_TRUSTED_PROXIES", "proxy.example")
    with pytest.raises(ValueError, match="FLEET_API_TRUSTED_PROXIES"):
        Settings()


def test_behind_a_trusted_proxy_the_limit_is_per_client(
    behind_proxy: TestClient, db_conn: Any
) -> None:
    for i in range(LIMIT):
        failed = login(behind_proxy, f"guess{i}", "wrong-password-1", "203.0.113.5")
        assert failed.status_code == 401
    assert login(behind_proxy, "van.hanh", PASSWORD, "203.0.113.5").status_code == 429
    # rewriting the header cannot escape: the proxy appends the real address
    spoofed = login(behind_proxy, "van.hanh", PASSWORD, "198.51.100.1, 203.0.113.5")
    assert spoofed.status_code == 429
    # another client behind the same proxy is not locked out
    assert login(behind_proxy, "van.hanh", PASSWORD, "198.51.100.7").status_code == 200
    assert failed_addresses(db_conn) == ["203.0.113.5"] * (LIMIT + 2)
    row = db_conn.execute(
        "SELECT host(address) FROM audit_log WHERE action = 'login' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row == ("198.51.100.7",)


def test_without_a_trusted_proxy_the_header_is_ignored(
    untrusting: TestClient, db_conn: Any
) -> None:
    for i in range(LIMIT):
        forged = f"203.0.113.{i + 1}"  # a new address each time
        assert login(untrusting, f"guess{i}", "wrong-password-1", forged).status_code == 401
    assert login(untrusting, "van.hanh", PASSWORD, "198.51.100.7").status_code == 429
    assert failed_addresses(db_conn) == ["127.0.0.1"] * (LIMIT + 1)


def test_the_demo_server_ignores_the_header(api_db: str, db_conn: Any) -> None:
    """Through real uvicorn as the demo starts it: uvicorn's own proxy support
    (X-Forwarded-For believed from 127.0.0.1) is off."""
    settings = Settings(**{**api_settings(api_db).model_dump(), "api_address_failures": LIMIT})
    port = free_port()
    with _api(settings, port) as url, httpx.Client(base_url=url) as client:
        for i in range(LIMIT + 1):
            answer = client.post(
                "/api/v1/auth/token",
                data={"username": f"guess{i}", "password": "wrong-password-1"},
                headers={"X-Forwarded-For": f"203.0.113.{i + 1}"},
            )
        assert answer.status_code == 429
    assert set(failed_addresses(db_conn)) == {"127.0.0.1"}
