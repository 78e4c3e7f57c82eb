"""SQL of the report and archive downloads and of the reports page's forms:
organisations and sites by id, narrowed to what a :class:`Scope` sees."""

from __future__ import annotations

from typing import Any

import psycopg

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition

Conn = psycopg.Connection[Any]


def organisation_code(conn: Conn, organisation_id: int) -> str | None:
    row = conn.execute(
        "SELECT code FROM organisations WHERE id = %s", (organisation_id,)
    ).fetchone()
    return None if row is None else str(row[0])


def site_code(conn: Conn, scope: Scope, site_id: int) -> str | None:
    """The site's code, if ``scope`` sees it."""
    clause, params = sites_condition(scope, "s.id")
    row = conn.execute(
        f"SELECT code FROM sites s WHERE s.id = %s AND {clause}", [site_id, *params]
    ).fetchone()
    return None if row is None else str(row[0])


def organisations(conn: Conn, *, every: bool, own: int | None) -> list[tuple[Any, ...]]:
    """(id, name, English name) of every organisation, or only the
    account's own, by name."""
    return conn.execute(
        "SELECT id, name, name_en FROM organisations WHERE %(all)s OR id = %(own)s ORDER BY name",
        {"all": every, "own": own},
    ).fetchall()
