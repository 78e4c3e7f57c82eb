"""Opening connections, with psycopg errors translated once, here.

Every connection and pool of the fleet server gets its conninfo from
``conninfo``: it turns PostgreSQL's JIT off for the session unless
FLEET_DB_JIT is true (docs/deployment.md: JIT compilation made one
availability query take 2-3 s instead of 5 ms).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg_pool import ConnectionPool

from fleet_server.errors import ConfigError, DatabaseUnavailable

#: The libpq options the fleet server sets unless FLEET_DB_JIT is true.
JIT_OFF = "-c jit=off"


def merged_options(given: str | None) -> str:
    """The libpq ``options`` of a connection with JIT off: ``given`` (the
    URL's, else PGOPTIONS) kept, ``-c jit=off`` in front, so that a
    ``-c jit=...`` the URL sets itself wins (the server applies them in order)."""
    return f"{JIT_OFF} {(given or '').strip()}".rstrip()


def conninfo(url: str, *, jit: bool = False, environ: Mapping[str, str] | None = None) -> str:
    """``url`` with JIT off (libpq key=value form), or ``url`` itself when
    ``jit`` (FLEET_DB_JIT: the server's own setting applies). The URL's own
    ``options`` are kept, and without them PGOPTIONS (``environ``, default
    the process's), which libpq would otherwise drop once options are set."""
    try:
        given = conninfo_to_dict(url).get("options")
    except psycopg.ProgrammingError as exc:  # the message names the part, not the password
        raise ConfigError(f"bad PostgreSQL URL: {exc}".strip()) from exc
    if jit:
        return url
    if given is None:
        given = (os.environ if environ is None else environ).get("PGOPTIONS")
    return make_conninfo(url, options=merged_options(None if given is None else str(given)))


def connect(
    url: str,
    *,
    autocommit: bool = False,
    application_name: str = "fleet-server",
    timeout: float = 10,
    jit: bool = False,
) -> psycopg.Connection[tuple[object, ...]]:
    """A connection to ``url``; ``jit``: FLEET_DB_JIT (``conninfo``)."""
    try:
        return psycopg.connect(
            conninfo(url, jit=jit),
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
