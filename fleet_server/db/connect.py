"""Opening connections, with psycopg errors translated once, here."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from fleet_server.errors import DatabaseUnavailable


def connect(
    url: str,
    *,
    autocommit: bool = False,
    application_name: str = "fleet-server",
    timeout: float = 10,
) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(
            url,
            autocommit=autocommit,
            application_name=application_name,
            connect_timeout=max(1, int(timeout)),
        )
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to PostgreSQL: {exc}".strip()) from exc


def database_check(pool: ConnectionPool[Any], timeout: float = 2) -> str | None:
    """Readiness of the database: None when a pooled connection answers,
    else the reason (the error's type only: no URL or password)."""
    try:
        with pool.connection(timeout=timeout) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        return f"unreachable: {type(exc).__name__}"
    return None
