"""The annual report's budget page (``/reports/budget``): the amounts an
organisation enters on the budget lines of Điều 11.1.b — next year's
estimate, and this year's costs outside tickets — which the report's II.5
uses; and the ad hoc report form's download (Điều 14.3)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.forms import Longest, checked, whole
from fleet_server.api.console.reports_page import _download, organisation_choices
from fleet_server.api.console.web import form_for, page_for, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.localtime import local_day
from fleet_server.reports import service_budget as budget_service
from fleet_server.reports.budget import BASES, LINE_LABELS, LINES, Basis, Line
from fleet_server.reports.schemas import BudgetEntryIn

router = APIRouter(include_in_schema=False)

Reporter = Annotated[Principal, Depends(page_for("report.read"))]
Budgeter = Annotated[Principal, Depends(form_for("report.budget"))]


def report_year(today: date) -> int:
    """The report being prepared: this year's until the Department's deadline
    (20/12, Điều 14.2), then next year's."""
    return today.year if today <= date(today.year, 12, 20) else today.year + 1


@router.get("/reports/budget")
def budget_page(request: Request, conn: Db, now: Now, user: Reporter) -> Response:
    return _page(request, conn, now, user)


def _page(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The entries and the form; after a refusal (``refusal``), with what
    was typed and why."""
    today = local_day(now)
    year = report_year(today)
    organisations = organisation_choices(request, conn, user)
    names = dict(organisations)
    own = None if user.province_wide else user.organisation_id
    estimates: list[Any] = []
    spent: list[Any] = []
    # An account of sites or a team, not of an organisation, has no budget
    # of its own: the page says there is nothing (no 400 without words).
    if user.province_wide or own is not None:
        estimates = budget_service.list_entries(
            conn, user, year=year + 1, basis="estimate", organisation_id=own
        )
        spent = budget_service.list_entries(
            conn, user, year=year, basis="spent", organisation_id=own
        )
    return render(
        request,
        "report_budget.html",
        user,
        {
            "report_year": year,
            "entries": [*estimates, *spent],
            "names": names,
            "lines": [(line, LINE_LABELS[line]) for line in LINES],
            "organisations": organisations,
            "may_enter": user.can("report.budget"),
            "saved": request.query_params.get("budget") == "saved" and refusal is None,
            **(refusal or {}),
        },
    )


#: The form's fields -> the label they are shown under.
LABELS = {
    "organisation_id": "reports.organisation",
    "basis": "budget.basis",
    "year": "reports.year",
    "line": "budget.line",
    "amount_vnd": "budget.amount",
    "note": "budget.note",
}


@router.post("/reports/budget")
def budget_enter(
    request: Request,
    conn: Db,
    now: Now,
    user: Budgeter,
    year: Annotated[str, Form(), Longest(10)],
    basis: Annotated[str, Form(), Longest(20)],
    line: Annotated[str, Form(), Longest(40)],
    amount_vnd: Annotated[str, Form(), Longest(30)],
    note: Annotated[str, Form(), Longest(500)] = "",
    organisation_id: Annotated[str, Form(), Longest(20)] = "",
) -> Response:
    """Enter (or replace) one amount; audited by the service."""
    typed = {
        "year": year,
        "basis": basis,
        "line": line,
        "amount_vnd": amount_vnd,
        "note": note,
        "organisation_id": organisation_id,
    }
    try:
        forms.fit(typed)
        year_ = whole(year, "year")
        if not 2020 <= year_ <= 2100:
            raise Invalid("year: give a year from 2020 to 2100", field="year")
        if basis not in BASES:
            raise Invalid(f"basis must be one of {', '.join(BASES)}", field="basis")
        if line not in LINES:
            raise Invalid(f"line must be one of {', '.join(LINES)}", field="line")
        digits = amount_vnd.replace(".", "").replace(",", "").replace(" ", "")
        if not digits.isdigit():
            raise Invalid(
                "amount_vnd: whole đồng, digits only (e.g. 120000000)", field="amount_vnd"
            )
        if organisation_id and not organisation_id.isdigit():
            raise Invalid("organisation_id: not an organisation", field="organisation_id")
        body = checked(BudgetEntryIn, amount_vnd=int(digits), note=note or None)
        basis_: Basis = "estimate" if basis == "estimate" else "spent"
        line_: Line = next(x for x in LINES if x == line)
        budget_service.put_entry(
            conn,
            user,
            user.acting_from(client_address(request)),
            body,
            year=year_,
            basis=basis_,
            line=line_,
            organisation_id=int(organisation_id) if organisation_id else None,
            now=now,
        )
    except RequestError as exc:
        return forms.refused(
            conn, exc, typed, lambda ctx: _page(request, conn, now, user, ctx), "entries", LABELS
        )
    return RedirectResponse("/reports/budget?budget=saved#entries", status_code=303)


@router.get("/reports/period")
def period_download(request: Request, user: Reporter) -> RedirectResponse:
    """The ad hoc report form (Điều 14.3), passed on to the API's download."""
    return _download("/api/v1/reports/period", request, user)
