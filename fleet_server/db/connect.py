"""Opening connections, with psycopg errors translated once, here."""

from __future__ import annotations

import psycopg

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
