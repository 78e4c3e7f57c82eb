"""SQL of the boards feature."""

from __future__ import annotations

from typing import Any

import psycopg

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition

Conn = psycopg.Connection[Any]


def board_visible(conn: Conn, scope: Scope, board_id: str) -> bool:
    """Whether the board exists and ``scope`` sees its site."""
    clause, params = sites_condition(scope, "b.site_id")
    row = conn.execute(
        f"SELECT 1 FROM boards b WHERE b.id = %s AND {clause}", [board_id, *params]
    ).fetchone()
    return row is not None
