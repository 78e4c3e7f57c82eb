"""Reports (``/reports``): broadcast compliance of the last days, the annual
report (Điều 14) and the inspection archive (Điều 9.1). The forms are plain
GET forms on the API's own download endpoints, which the session cookie
opens (``/api/v1/reports/annual``, ``/api/v1/archive``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import Db, Now
from fleet_server.compliance.rules import local_day
from fleet_server.reports.figures import Period

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("compliance.read"))]
Reporter = Annotated[Principal, Depends(page_for("report.read"))]
STATUSES = ("compliant", "non_compliant", "unknown", "exempt", "pending", "no_windows")
RECENT_DAYS = 30


@router.get("/reports")
def reports_page(request: Request, conn: Db, now: Now, user: Reader) -> Response:
    today = local_day(now)
    first = today - timedelta(days=RECENT_DAYS - 1)
    scope, params = sites_condition(user.scope, "b.site_id")
    counts = dict(
        conn.execute(
            "SELECT c.status, count(*) FROM compliance_days c JOIN boards b ON b.id = c.board_id"
            f" WHERE {scope} AND c.day BETWEEN %s AND %s GROUP BY c.status",
            [*params, first, today],
        ).fetchall()
    )
    problems: list[tuple[Any, ...]] = conn.execute(
        "SELECT c.day, c.board_id, b.name, s.name, c.status, c.morning_minutes,"
        " c.afternoon_minutes, c.morning_unknown + c.afternoon_unknown"
        " FROM compliance_days c JOIN boards b ON b.id = c.board_id"
        " JOIN sites s ON s.id = b.site_id"
        f" WHERE {scope} AND c.day BETWEEN %s AND %s"
        " AND c.status IN ('non_compliant', 'unknown', 'exempt')"
        " ORDER BY c.day DESC, c.board_id LIMIT 100",
        [*params, first, today],
    ).fetchall()
    sites = conn.execute(
        "SELECT s.id, s.name FROM sites s WHERE "
        + sites_condition(user.scope, "s.id")[0]
        + " ORDER BY s.name",
        sites_condition(user.scope, "s.id")[1],
    ).fetchall()
    organisations = conn.execute(
        "SELECT id, name FROM organisations WHERE %(all)s OR id = %(own)s ORDER BY name",
        {"all": user.province_wide, "own": user.organisation_id},
    ).fetchall()
    year = today.year if today >= Period.annual(today.year).last_day else today.year - 1
    return render(
        request,
        "reports.html",
        user,
        {
            "statuses": STATUSES,
            "counts": counts,
            "problems": problems,
            "first": first,
            "today": today,
            "sites": sites,
            "organisations": organisations,
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
