"""/api/v1 broadcast compliance (Điều 8), proof of play (Điều 9.1), the
annual report (Điều 14) and the inspection archive.

Every list is narrowed to the caller's sites; a board outside them is 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.compliance import service
from fleet_server.compliance.schemas import ComplianceDay, Play, PlayKind, Status
from fleet_server.reports import service as reports
from fleet_server.reports import service_budget as budget_service
from fleet_server.reports.budget import Basis, Line
from fleet_server.reports.schemas import BudgetEntryIn, BudgetEntryOut
from fleet_server.reports.service import DOCX, Download
from fleet_server.vocabulary import Language

router = APIRouter(tags=["compliance"])

Reader = Annotated[Principal, Depends(require("compliance.read"))]
Reporter = Annotated[Principal, Depends(require("report.read"))]
Budgeter = Annotated[Principal, Depends(require("report.budget"))]


#: The language a download is named in (``lang``); without it, the account's
#: (reports.service.file_name names it in Vietnamese for any other).
LangQuery = Annotated[
    Language | None,
    Query(description="the file's name in this language (default: the account's)"),
]


def _file(download: Download) -> Response:
    """The download as an attachment: its name as an ASCII ``filename``
    (anything else as "_") and, when that changed it, whole as RFC 5987's
    ``filename*``."""
    plain = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                    for c in download.name)  # fmt: skip
    disposition = f'attachment; filename="{plain}"'
    if plain != download.name:
        disposition += f"; filename*=UTF-8''{quote(download.name, safe='')}"
    return Response(
        download.body,
        media_type=download.media_type,
        headers={"Content-Disposition": disposition},
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
    lang: LangQuery = None,
) -> Response:
    actor = user.acting_from(client_address(request))
    return _file(
        reports.annual_report(
            conn,
            user,
            actor,
            now,
            year=year,
            organisation_id=organisation_id,
            language=lang or user.language,
        )
    )


@router.get(
    "/reports/period",
    summary="an ad hoc report (Điều 14.3) over any period, in the annual report's outline, as DOCX",
    response_class=Response,
    responses={
        200: {"content": {DOCX: {}}, "description": "the report"},
        400: {"description": "`from` after `to`, a period not ended, or longer than two years"},
    },
)
def period_report(
    request: Request,
    conn: Db,
    now: Now,
    user: Reporter,
    from_: Annotated[date, Query(alias="from", description="first day (local), YYYY-MM-DD")],
    to: Annotated[date, Query(description="last day (local), YYYY-MM-DD")],
    organisation_id: Annotated[
        int | None,
        Query(ge=1, le=2**62, description="default: the caller's; admins: none = the province"),
    ] = None,
    lang: LangQuery = None,
) -> Response:
    actor = user.acting_from(client_address(request))
    return _file(
        reports.period_report(
            conn,
            user,
            actor,
            now,
            first=from_,
            last=to,
            organisation_id=organisation_id,
            language=lang or user.language,
        )
    )


@router.get(
    "/reports/budget",
    summary="amounts entered on the budget lines of Điều 11.1.b (estimate or spent)",
)
def budget_list(
    conn: Db,
    user: Reporter,
    year: Annotated[int, Query(ge=2020, le=2100)],
    basis: Annotated[Basis, Query()] = "estimate",
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> list[BudgetEntryOut]:
    return budget_service.list_entries(
        conn, user, year=year, basis=basis, organisation_id=organisation_id
    )


@router.put(
    "/reports/budget/{year}/{basis}/{line}",
    summary="enter an amount on a budget line (next year's estimate, or spent outside tickets)",
)
def budget_put(
    request: Request,
    conn: Db,
    now: Now,
    user: Budgeter,
    year: Annotated[int, Path(ge=2020, le=2100)],
    basis: Annotated[Basis, Path()],
    line: Annotated[Line, Path()],
    body: BudgetEntryIn,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> BudgetEntryOut:
    actor = user.acting_from(client_address(request))
    return budget_service.put_entry(
        conn,
        user,
        actor,
        body,
        year=year,
        basis=basis,
        line=line,
        organisation_id=organisation_id,
        now=now,
    )


@router.delete(
    "/reports/budget/{year}/{basis}/{line}",
    status_code=204,
    summary="remove an amount: the report derives the estimate from the costs again",
)
def budget_delete(
    request: Request,
    conn: Db,
    user: Budgeter,
    year: Annotated[int, Path(ge=2020, le=2100)],
    basis: Annotated[Basis, Path()],
    line: Annotated[Line, Path()],
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> Response:
    actor = user.acting_from(client_address(request))
    budget_service.delete_entry(
        conn, user, actor, year=year, basis=basis, line=line, organisation_id=organisation_id
    )
    return Response(status_code=204)


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
    lang: LangQuery = None,
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
        language=lang or user.language,
    )
    return _file(download)
