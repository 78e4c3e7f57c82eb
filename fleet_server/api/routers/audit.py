"""/api/v1 audit log (admins only, ``audit.read``): every login and every
change, who, when, from where, before and after (Điều 9.2). The log is
append-only in the database (a trigger refuses UPDATE, DELETE, TRUNCATE);
this module only reads it, as a page or as a CSV export for inspectors."""

from __future__ import annotations

import csv
import io
import ipaddress
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from psycopg_pool import ConnectionPool
from pydantic import AwareDatetime, BaseModel

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page, order_by
from fleet_server.access.principal import Principal
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Ctx, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.api.problems import Problem
from fleet_server.errors import Forbidden
from fleet_server.reports.export import csv_cell as _cell

router = APIRouter(tags=["audit log"])

NO_NUL = r"^[^\x00]*$"
#: Vietnam keeps UTC+7 all year; the CSV gives local time for inspectors too.
VIETNAM = timezone(timedelta(hours=7), "ICT")
SORTABLE = ("id", "at", "actor", "action")
CSV_COLUMNS = (
    "id",
    "at",
    "at_local",
    "actor",
    "actor_user_id",
    "action",
    "target_type",
    "target_id",
    "address",
    "detail",
    "before",
    "after",
)

Auditor = Annotated[Principal, Depends(require("audit.read"))]


class AuditEntry(BaseModel):
    id: int
    at: datetime
    #: A username, or 'system:<role>' / 'engine:<rule>' for the server itself.
    actor: str
    actor_user_id: int | None
    action: str
    target_type: str | None
    target_id: str | None
    address: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str | None


class AuditFilters(BaseModel):
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    address: str | None = None


def audit_filters(
    actor: Annotated[
        str | None, Query(max_length=200, pattern=NO_NUL, description="exact username")
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=100, pattern=NO_NUL, description="prefix, e.g. 'ticket.' or 'login'"),
    ] = None,
    target_type: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    target_id: Annotated[str | None, Query(max_length=200, pattern=NO_NUL)] = None,
    since: Annotated[AwareDatetime | None, Query(description="at or after (with offset)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="before (with offset)")] = None,
    address: Annotated[
        str | None,
        Query(max_length=50, pattern=NO_NUL, description="an IP address or a network (CIDR)"),
    ] = None,
) -> AuditFilters:
    return AuditFilters(
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        address=address,
    )


Filters = Annotated[AuditFilters, Depends(audit_filters)]


# -- data functions (the console calls these too) ---------------------------------------

_SELECT = """
    SELECT id, at, actor, actor_user_id, action, target_type, target_id,
           host(address) AS address, before, after, detail
    FROM audit_log
"""


def _need(user: Principal) -> None:
    if not user.can("audit.read"):
        raise Forbidden(f"the {user.role} role may not do this (audit.read)")


def _where(filters: AuditFilters) -> tuple[str, list[Any]]:
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
    if filters.since is not None and filters.until is not None and filters.since >= filters.until:
        raise Problem(
            400,
            "since: must be before until",
            kind="bad-request",
            errors=[{"field": "since", "message": "must be before until"}],
        )
    if filters.since is not None:
        where.append("at >= %s")
        params.append(filters.since)
    if filters.until is not None:
        where.append("at < %s")
        params.append(filters.until)
    if filters.address:
        try:
            network = ipaddress.ip_network(filters.address.strip(), strict=False)
        except ValueError:
            raise Problem(
                400,
                f"address: {filters.address!r} is not an IP address or network",
                kind="bad-request",
                errors=[{"field": "address", "message": "not an IP address or network"}],
            ) from None
        where.append("address <<= %s::inet")
        params.append(str(network))
    return " AND ".join(where), params


def list_audit(
    conn: Conn, user: Principal, paging: ListParams, filters: AuditFilters
) -> Page[AuditEntry]:
    """One page of the log, newest first unless sorted otherwise."""
    _need(user)
    where, params = _where(filters)
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {where}",
        params,
        paging,
        sortable=SORTABLE,
        default="at DESC",
        tiebreak="id DESC",
        model=AuditEntry,
    )


def _csv_line(values: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(values)
    return out.getvalue()


def export_rows(pool: ConnectionPool[Any], sql: str, params: list[Any]) -> Iterator[bytes]:
    """The CSV, in chunks: UTF-8 with a byte-order mark (Excel then reads
    Vietnamese correctly), a header row, one row per entry. Read through a
    server-side cursor on a connection of its own, so memory stays flat."""
    yield ("\ufeff" + _csv_line(list(CSV_COLUMNS))).encode()
    with pool.connection() as conn, conn.cursor(name="audit_export") as cur:
        cur.itersize = 2000
        cur.execute(sql, params)
        out = io.StringIO()
        writer = csv.writer(out)
        for row in cur:
            (
                entry_id,
                at,
                actor,
                actor_user_id,
                action,
                ttype,
                tid,
                address,
                before,
                after,
                detail,
            ) = row
            writer.writerow(
                [
                    entry_id,
                    at.isoformat(),
                    at.astimezone(VIETNAM).strftime("%Y-%m-%d %H:%M:%S"),
                    _cell(actor),
                    _cell(actor_user_id),
                    _cell(action),
                    _cell(ttype),
                    _cell(tid),
                    _cell(address),
                    _cell(detail),
                    _cell(before),
                    _cell(after),
                ]
            )
            if out.tell() >= 64 * 1024:
                yield out.getvalue().encode()
                out.seek(0)
                out.truncate()
        if out.tell():
            yield out.getvalue().encode()


def export_query(filters: AuditFilters, sort: str | None) -> tuple[str, list[Any]]:
    """The SQL and parameters of an export (filters and sort checked here,
    before any byte of the answer is sent)."""
    where, params = _where(filters)
    order = order_by(sort, {name: name for name in SORTABLE}, "at DESC", "id DESC")
    return f"{_SELECT} WHERE {where} ORDER BY {order}", params


# -- routes -------------------------------------------------------------------------


@router.get("/audit-log", summary="the audit log (admin), filtered, sorted and paged")
def audit_list(conn: Db, user: Auditor, paging: Paging, filters: Filters) -> Page[AuditEntry]:
    """Sort by id, at, actor or action; default: newest first (-at)."""
    return list_audit(conn, user, paging, filters)


@router.get(
    "/audit-log.csv",
    summary="the audit log as CSV (admin), same filters and sort as the list",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 CSV with a BOM"}},
)
def audit_csv(
    request: Request,
    ctx: Ctx,
    conn: Db,
    now: Now,
    user: Auditor,
    filters: Filters,
    sort: Annotated[
        str | None,
        Query(max_length=100, pattern=r"^-?[a-z_]+$", description="as for the list"),
    ] = None,
) -> StreamingResponse:
    _need(user)
    sql, params = export_query(filters, sort)
    record(
        conn,
        user,
        request,
        "audit.export",
        target_type="audit_log",
        target_id="csv",
        detail=json.dumps(filters.model_dump(mode="json", exclude_none=True), ensure_ascii=False),
    )
    name = f"audit-log-{now.astimezone(VIETNAM):%Y%m%d-%H%M}.csv"
    return StreamingResponse(
        export_rows(ctx.pool, sql, params),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
