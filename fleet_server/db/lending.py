"""Which pool lent a connection.

Work a request starts that outlives it (a cache's background rebuild) needs
a connection of its own, from the pool that lent the request's. The API
records each request's connection where it takes it from its pool
(``api.deps.connection``); a connection no one recorded (a script's, a
test's) has no known pool, and such work then runs in its caller."""

from __future__ import annotations

import weakref
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

#: Kept as long as the connection lives (the pool closes it, then it goes).
_LENDERS: weakref.WeakKeyDictionary[psycopg.Connection[Any], ConnectionPool[Any]] = (
    weakref.WeakKeyDictionary()
)


def record(conn: psycopg.Connection[Any], pool: ConnectionPool[Any]) -> None:
    """``conn`` was lent by ``pool``."""
    _LENDERS[conn] = pool


def lender(conn: psycopg.Connection[Any]) -> ConnectionPool[Any] | None:
    """The pool recorded as having lent ``conn`` (None: none was)."""
    return _LENDERS.get(conn)
