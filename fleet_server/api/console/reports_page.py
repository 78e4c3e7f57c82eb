"""Reports (``/reports``): broadcast compliance of the last days, the annual
report (Điều 14) and the inspection archive (Điều 9.1). The forms are plain
GET forms on the API's own download endpoints, which the session cookie
opens (``/api/v1/reports/annual``, ``/api/v1/archive``)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from fleet_server.access.principal import Principal
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import Db, Now
from fleet_server.compliance import service as compliance
from fleet_server.reports import service as reports
from fleet_server.reports.figures import Period

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("compliance.read"))]
Reporter = Annotated[Principal, Depends(page_for("report.read"))]
STATUSES = ("compliant", "non_compliant", "unknown", "exempt", "pending", "no_windows")
RECENT_DAYS = 30


@router.get("/reports")
def reports_page(request: Request, conn: Db, now: Now, user: Reader) -> Response:
    recent = compliance.recent(conn, user.scope, now, RECENT_DAYS)
    choices = reports.form_choices(conn, user)
    today = recent.today
    year = today.year if today >= Period.annual(today.year).last_day else today.year - 1
    return render(
        request,
        "reports.html",
        user,
        {
            "statuses": STATUSES,
            "counts": recent.counts,
            "problems": recent.problems,
            "first": recent.first,
            "today": today,
            "sites": choices.sites,
            "organisations": choices.organisations,
            "years": list(range(today.year, today.year - 6, -1)),
            "report_year": year,
            "may_report": user.can("report.read"),
        },
    )


def _download(target: str, request: Request) -> RedirectResponse:
    """The form's non-empty fields, passed on to the API's download."""
    params = {k: v for k, v in request.query_params.items() if v.strip()}
    return RedirectResponse(f"{target}?{urlencode(params)}", status_code=303)


@router.get("/reports/annual")
def annual_download(request: Request, user: Reporter) -> RedirectResponse:
    return _download("/api/v1/reports/annual", request)


@router.get("/reports/archive")
def archive_download(request: Request, user: Reader) -> RedirectResponse:
    return _download("/api/v1/archive", request)
