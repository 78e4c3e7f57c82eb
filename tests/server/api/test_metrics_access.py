"""``GET /metrics`` of the API is not for whoever reaches the port: without
FLEET_METRICS_TOKEN it answers this machine only (403 to any other peer and
to a request a proxy forwarded); with it, the bearer token decides (401
otherwise). The peer rule is checked in-process with chosen peers (tests
listen and connect on 127.0.0.1 only, so no real non-loopback peer), and
over real TCP for this machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.settings import Settings
from tests.server.api.conftest import api_settings
from tests.support.clock import Clock
from tests.support.metrics import parse
from tests.support.ports import free_port
from tests.support.wait import wait_for

TOKEN = "Zr8-3kQv_b1NwT6yHs0pLd2x"


@pytest.fixture
def pool(api_db: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as the_pool:
        yield the_pool


def build(api_db: str, pool: ConnectionPool[Any], clock: Clock, **settings: Any) -> FastAPI:
    built = Settings(**{**api_settings(api_db).model_dump(), **settings})
    return create_app(built, clock=clock, pool=pool, broker_check=lambda: None, console=False)


@pytest.mark.parametrize("peer", ["192.0.2.10", "10.0.0.2", "172.18.0.1"])
def test_without_a_token_another_host_is_refused(
    api_db: str, pool: ConnectionPool[Any], clock: Clock, peer: str
) -> None:
    app = build(api_db, pool, clock)
    with TestClient(app, client=(peer, 40000)) as client:
        refused = client.get("/metrics")
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
        assert "fleet_boards" not in refused.text
        # presenting some token changes nothing while none is configured
        assert (
            client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 403
        )
        assert client.get("/healthz").status_code == 200  # only /metrics is guarded


def test_without_a_token_this_machine_may_read_unless_a_proxy_forwarded(
    api_db: str, pool: ConnectionPool[Any], clock: Clock
) -> None:
    app = build(api_db, pool, clock)
    with TestClient(app, client=("127.0.0.1", 40000)) as client:
        assert parse(client.get("/metrics").text).value("fleet_database_up") == 1
        # a reverse proxy on this host forwarding an outside request
        forwarded = client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.5"})
        assert forwarded.status_code == 403
        assert client.get("/metrics", headers={"Forwarded": "for=203.0.113.5"}).status_code == 403


def test_with_a_token_the_bearer_decides(
    api_db: str, pool: ConnectionPool[Any], clock: Clock
) -> None:
    app = build(api_db, pool, clock, metrics_token=TOKEN)
    with TestClient(app, client=("192.0.2.10", 40000)) as client:
        missing = client.get("/metrics")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = client.get("/metrics", headers={"Authorization": "Bearer Zr8-3kQv_b1NwT6yHs0pLd2y"})
        assert (wrong.status_code, wrong.headers["www-authenticate"]) == (401, "Bearer")
        assert "fleet_boards" not in missing.text + wrong.text
        good = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert good.status_code == 200
        assert parse(good.text).value("fleet_database_up") == 1
    # with a token, this machine needs it too
    with TestClient(app, client=("127.0.0.1", 40000)) as local:
        assert local.get("/metrics").status_code == 401


@pytest.fixture
def served(api_db: str, pool: ConnectionPool[Any], clock: Clock) -> Iterator[Any]:
    """Serve an app (no token unless given) over real TCP on ``address``."""
    servers: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(address: str, **settings: Any) -> str:
        app = build(api_db, pool, clock, **settings)
        port = free_port()
        server = uvicorn.Server(
            uvicorn.Config(app, host=address, port=port, log_level="warning", lifespan="on")
        )
        thread = threading.Thread(target=server.run, name="metrics-uvicorn", daemon=True)
        thread.start()
        servers.append((server, thread))
        wait_for(lambda: server.started or not thread.is_alive(), timeout=20, what="uvicorn")
        assert server.started, "uvicorn did not start"
        return f"http://{address}:{port}"

    yield serve
    for server, thread in servers:
        server.should_exit = True
        thread.join(timeout=10)


def test_over_tcp_this_machine_may_read_without_a_token(served: Any) -> None:
    url = served("127.0.0.1")
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert parse(response.text).value("fleet_database_up") == 1
