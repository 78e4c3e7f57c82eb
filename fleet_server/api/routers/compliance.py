"""/api/v1 broadcast compliance (Điều 8), proof of play (Điều 9.1), the
annual report (Điều 14) and the inspection archive.

Every list is narrowed to the caller's sites; a board outside them is 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.compliance import service
from fleet_server.compliance.schemas import ComplianceDay, Play, PlayKind, Status
from fleet_server.reports import service as reports
from fleet_server.reports.service import DOCX, Download

router = APIRouter(tags=["compliance"])

Reader = Annotated[Principal, Depends(require("compliance.read"))]
Reporter = Annotated[Principal, Depends(require("report.read"))]


def _file(download: Download) -> Response:
    return Response(
        download.body,
        media_type=download.media_type,
        headers={"Content-Disposition": f'attachment; filename="{download.name}"'},
    )


@router.get("/compliance/days", summary="broadcast compliance per board and local day")
def compliance_days(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    from_: Annotated[date | None, Query(alias="from", description="first day (local)")] = None,
    to: Annotated[date | None, Query(description="last day (local), default today")] = None,
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    status: Annotated[Status | None, Query()] = None,
) -> Page[ComplianceDay]:
    return service.compliance_days(
        conn,
        user.scope,
        paging,
        now,
        first=from_,
        last=to,
        board_id=board_id,
        site_id=site_id,
        status=status,
    )


@router.get("/boards/{board_id}/plays", summary="what a board showed and when (proof of play)")
def board_plays(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    board_id: Annotated[str, Path(max_length=64)],
    since: Annotated[datetime | None, Query(description="default: 24 h before until")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    kind: Annotated[PlayKind | None, Query()] = None,
) -> Page[Play]:
    return service.board_plays(
        conn, user.scope, paging, board_id, now, since=since, until=until, kind=kind
    )


@router.get(
    "/reports/annual",
    summary="the annual report (Điều 14) as DOCX",
    response_class=Response,
    responses={200: {"content": {DOCX: {}}, "description": "the report"}},
)
def annual_report(
    request: Request,
    conn: Db,
    now: Now,
    user: Reporter,
    year: Annotated[int, Query(ge=2020, le=2100)],
    organisation_id: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="default: the caller's; admins: none = the province"),
    ] = None,
) -> Response:
    actor = user.acting_from(client_address(request))
    return _file(
        reports.annual_report(conn, user, actor, now, year=year, organisation_id=organisation_id)
    )


@router.get(
    "/archive",
    summary="the inspection archive (Điều 9.1): plays, advertising, compliance, manifest",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}}, "description": "a ZIP"}},
)
def inspection_archive(
    request: Request,
    conn: Db,
    now: Now,
    user: Reader,
    from_: Annotated[date, Query(alias="from", description="first day (local)")],
    to: Annotated[date, Query(description="last day (local)")],
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    actor = user.acting_from(client_address(request))
    download = reports.inspection_archive(
        conn,
        user,
        actor,
        now,
        first=from_,
        last=to,
        board_id=board_id,
        site_id=site_id,
        organisation_id=organisation_id,
    )
    return _file(download)
