"""SQL of the audit log: read only (the log is append-only in the database;
a trigger refuses UPDATE, DELETE, TRUNCATE)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool

from fleet_server.access.keyset import Key, Keyset
from fleet_server.access.pagination import (
    CursorPage,
    ListParams,
    add_equal,
    add_range,
    fetch_keyset_page,
    order_by,
)
from fleet_server.audit.models import CSV_COLUMNS, SORTABLE, csv_row
from fleet_server.audit.schemas import AuditEntry, AuditFilters

Conn = psycopg.Connection[Any]

_SELECT = """
    SELECT id, at, actor, actor_user_id, action, target_type, target_id,
           host(address) AS address, before, after, detail
    FROM audit_log
"""

#: The sorts of the list; each ends with the id, so equal keys still have one order.
KEYSET = Keyset(
    name="audit-log",
    tiebreak=Key("id", "int"),
    sorts={
        "id": Key("id", "int"),
        "at": Key("at", "timestamp"),
        "actor": Key("actor", "text"),
        "action": Key("action", "text"),
    },
    default=("at",),  # newest first
)


@dataclass(frozen=True, slots=True)
class ExportQuery:
    """What an export reads, checked before any byte of the answer is sent."""

    sql: str
    params: list[Any]


def _where(filters: AuditFilters, network: str | None) -> tuple[str, list[Any]]:
    """``network``: the address filter as checked text (models.address_network)."""
    where: list[str] = ["TRUE"]
    params: list[Any] = []
    add_equal(
        where,
        params,
        (
            ("actor", filters.actor),
            ("target_type", filters.target_type),
            ("target_id", filters.target_id),
        ),
    )
    if filters.action:
        escaped = filters.action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("action LIKE %s")
        params.append(escaped + "%")
    add_range(where, params, "at", filters.since, filters.until)
    if network is not None:
        where.append("address <<= %s::inet")
        params.append(network)
    return " AND ".join(where), params


def list_entries(
    conn: Conn, paging: ListParams, filters: AuditFilters, network: str | None
) -> CursorPage[AuditEntry]:
    where, params = _where(filters, network)
    return fetch_keyset_page(
        conn, f"{_SELECT} WHERE {where}", params, paging, keyset=KEYSET, model=AuditEntry
    )


def export_query(filters: AuditFilters, network: str | None, sort: str | None) -> ExportQuery:
    """The SQL and parameters of an export (the sort checked here)."""
    where, params = _where(filters, network)
    order = order_by(sort, {name: name for name in SORTABLE}, "at DESC", "id DESC")
    return ExportQuery(f"{_SELECT} WHERE {where} ORDER BY {order}", params)


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


def export_rows(pool: ConnectionPool[Any], query: ExportQuery) -> Iterator[bytes]:
    """The CSV, in chunks: UTF-8 with a byte-order mark (Excel then reads
    Vietnamese correctly), a header row, one row per entry. Read through a
    server-side cursor on a connection of its own, so memory stays flat."""
    yield ("\ufeff" + _csv_line(list(CSV_COLUMNS))).encode()
    with pool.connection() as conn, conn.cursor(name="audit_export") as cur:
        cur.itersize = 2000
        cur.execute(query.sql, query.params)
        out = io.StringIO()
        writer = csv.writer(out)
        for row in cur:
            writer.writerow(csv_row(row))
            if out.tell() >= 64 * 1024:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
        if out.tell():
            yield out.getvalue().encode()
