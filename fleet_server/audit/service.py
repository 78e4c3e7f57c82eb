"""Reading the audit log (``audit.read``): a page, or a CSV export that is
itself audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from psycopg_pool import ConnectionPool

from fleet_server.access.audit import record
from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Actor, Principal
from fleet_server.audit import storage
from fleet_server.audit.models import address_network, check_period
from fleet_server.audit.schemas import AuditEntry, AuditFilters
from fleet_server.audit.storage import Conn
from fleet_server.localtime import LOCAL_TZ


def _network(filters: AuditFilters) -> str | None:
    """Check the filters; the address filter's network."""
    check_period(filters.since, filters.until)
    return address_network(filters.address)


def list_audit(
    conn: Conn, principal: Principal, paging: ListParams, filters: AuditFilters
) -> CursorPage[AuditEntry]:
    """One page of the log, newest first unless sorted otherwise."""
    principal.need("audit.read")
    return storage.list_entries(conn, paging, filters, _network(filters))


def export_csv(
    conn: Conn,
    principal: Principal,
    actor: Actor,
    pool: ConnectionPool[Any],
    filters: AuditFilters,
    *,
    sort: str | None,
    now: datetime,
) -> tuple[str, Iterator[bytes]]:
    """The file name and the chunks of a CSV export of the selection (read
    on a connection of its own from ``pool``). Filters and sort are checked
    and the export audited before any byte is sent."""
    principal.need("audit.read")
    query = storage.export_query(filters, _network(filters), sort)
    record(
        conn,
        actor,
        "audit.export",
        target_type="audit_log",
        target_id="csv",
        detail=json.dumps(filters.model_dump(mode="json", exclude_none=True), ensure_ascii=False),
    )
    name = f"audit-log-{now.astimezone(LOCAL_TZ):%Y%m%d-%H%M}.csv"
    return name, storage.export_rows(pool, query)
