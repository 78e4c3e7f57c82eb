"""/api/v1 audit log (admins only, ``audit.read``): every login and every
change, who, when, from where, before and after (Điều 9.2). The log is
append-only in the database (a trigger refuses UPDATE, DELETE, TRUNCATE);
this module only reads it, as a page or as a CSV export for inspectors."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from fleet_server.access.pagination import CursorPage
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Ctx, Db, Now, client_address, require
from fleet_server.api.pagination import KeysetPaging, link_next
from fleet_server.audit import service
from fleet_server.audit.schemas import AuditEntry, AuditFilters

router = APIRouter(tags=["audit log"])

NO_NUL = r"^[^\x00]*$"

Auditor = Annotated[Principal, Depends(require("audit.read"))]


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


# -- routes -------------------------------------------------------------------------


@router.get("/audit-log", summary="the audit log (admin), filtered, sorted and paged")
def audit_list(
    request: Request,
    response: Response,
    conn: Db,
    user: Auditor,
    paging: KeysetPaging,
    filters: Filters,
) -> CursorPage[AuditEntry]:
    """Sort by id, at, actor or action; default: newest first (-at). Page
    with ``cursor`` (each page's ``next_cursor``, also in the ``Link``
    header); ``total`` counts at most 10,000 (``total_capped``)."""
    page = service.list_audit(conn, user, paging, filters)
    link_next(request, response, page)
    return page


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
    name, chunks = service.export_csv(
        conn,
        user,
        user.acting_from(client_address(request)),
        ctx.pool,
        filters,
        sort=sort,
        now=now,
    )
    return StreamingResponse(
        chunks,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
