"""A request's connection is recorded with the pool that lent it, so a cache
rebuild the request starts borrows a connection of its own from that pool;
a connection no one recorded names no pool (its caller then rebuilds)."""

from __future__ import annotations

import psycopg
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.api.deps import Db
from fleet_server.db import lending
from fleet_server.organisations.health_cache import background
from tests.server.api.conftest import api_settings


def test_a_recorded_connection_names_its_pool(db_url: str) -> None:
    pool = ConnectionPool(db_url, min_size=1, max_size=2, open=True)
    with pool, pool.connection() as conn:
        assert lending.lender(conn) is None
        assert background(conn) is None
        lending.record(conn, pool)
        assert lending.lender(conn) is pool
        connect = background(conn)
        assert connect is not None
        with connect() as other:  # the rebuild's own connection, from the same pool
            assert other is not conn
            assert other.execute("SELECT 1").fetchone() == (1,)


def test_a_connection_of_no_pool_names_none(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        assert lending.lender(conn) is None
        assert background(conn) is None


def test_each_request_records_its_connection(db_url: str) -> None:
    """The connection a request gets is recorded with the application's pool."""
    seen: list[psycopg.Connection[object]] = []
    with ConnectionPool(db_url, min_size=1, max_size=2, open=True) as pool:
        app: FastAPI = create_app(api_settings(db_url), pool=pool, console=False)

        @app.get("/lending-probe")
        def probe(conn: Db) -> dict[str, bool]:
            seen.append(conn)
            return {"recorded": lending.lender(conn) is pool}

        with TestClient(app) as client:
            assert client.get("/lending-probe").json() == {"recorded": True}
    assert len(seen) == 1
