"""Reports (``/reports``): broadcast compliance of the last days, the annual
report (Điều 14) and the inspection archive (Điều 9.1). The forms are plain
GET forms on the API's own download endpoints, which the session cookie
opens (``/api/v1/reports/annual``, ``/api/v1/archive``). Sites are chosen
with the place picker (place_search.py), not a select of every site."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, i18n, place_search
from fleet_server.api.console.forms import Longest, checked
from fleet_server.api.console.web import form_for, language_of, page_for, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.compliance import service as compliance
from fleet_server.compliance import service_orders as orders
from fleet_server.compliance.schemas import EmergencyOrderIn
from fleet_server.errors import Invalid, RequestError
from fleet_server.localtime import LOCAL_TZ, local_day
from fleet_server.reports import service as reports
from fleet_server.reports.figures import Period

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("compliance.read"))]
Reporter = Annotated[Principal, Depends(page_for("report.read"))]
OrderWriter = Annotated[Principal, Depends(form_for("emergency_order.write"))]
#: Orders shown on the page (newest period first).
ORDER_ROWS = 20
STATUSES = ("compliant", "non_compliant", "unknown", "exempt", "pending", "no_windows")
RECENT_DAYS = 30


@router.get("/reports")
def reports_page(request: Request, conn: Db, now: Now, user: Reader) -> Response:
    return _page(request, conn, now, user)


def organisation_choices(request: Request, conn: Conn, user: Principal) -> list[tuple[int, str]]:
    """The organisations a report may be about, (id, name in the reader's language)."""
    language = language_of(request, user)
    return [
        (id_, i18n.local_name(language, name, name_en))
        for id_, name, name_en in reports.organisation_choices(conn, user)
    ]


def _page(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The reports page; after a refused order form (``refusal``), with
    what was typed and why."""
    recent = compliance.recent(conn, user.scope, now, RECENT_DAYS)
    organisations = organisation_choices(request, conn, user)
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
            "advertising_over": recent.advertising_over,
            "first": recent.first,
            "today": today,
            "places": place_search.shortlist(conn, user),
            "organisations": organisations,
            "years": list(range(today.year, today.year - 6, -1)),
            "report_year": year,
            "may_report": user.can("report.read"),
            "orders": orders.list_orders(
                conn, user, ListParams(limit=ORDER_ROWS, offset=0, sort=None)
            ).items,
            "may_order": user.can("emergency_order.write"),
            "order_saved": request.query_params.get("order") == "saved",
            "order_revoked": request.query_params.get("order") == "revoked",
            **(refusal or {}),
        },
    )


#: The order form's fields -> the label they are shown under.
LABELS = {
    "authority": "orders.authority",
    "document_number": "orders.number",
    "document_date": "orders.date",
    "starts_at": "orders.starts",
    "ends_at": "orders.ends",
    "summary": "orders.summary",
    "all_sites": "orders.all_sites",
    "site_ids": "orders.sites",
    "site": "orders.sites",
    "board_ids": "orders.boards",
    "reason": "orders.revoke_reason",
}


def _refused(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    exc: RequestError,
    typed: dict[str, Any],
    where: str,
) -> Response:
    return forms.refused(
        conn, exc, typed, lambda ctx: _page(request, conn, now, user, ctx), where, LABELS
    )


def _local(value: str, field: str) -> datetime:
    """A datetime-local form value, read as Vietnam time."""
    try:
        return datetime.fromisoformat(value).replace(tzinfo=LOCAL_TZ)
    except ValueError:
        raise Invalid(f"{field}: not a date and time", field=field) from None


@router.post("/reports/emergency-orders")
def order_create(
    request: Request,
    conn: Db,
    now: Now,
    user: OrderWriter,
    authority: Annotated[str, Form(), Longest(300)] = "",
    document_number: Annotated[str, Form(), Longest(100)] = "",
    document_date: Annotated[str, Form(), Longest(10)] = "",
    starts_at: Annotated[str, Form(), Longest(20)] = "",
    ends_at: Annotated[str, Form(), Longest(20)] = "",
    summary: Annotated[str, Form(), Longest(2000)] = "",
    all_sites: Annotated[str | None, Form(), Longest(5)] = None,
    site_ids: Annotated[list[int] | None, Form()] = None,
    site: Annotated[list[place_search.PickedText] | None, Form(max_length=10)] = None,
    board_ids: Annotated[str, Form(), Longest(20_000)] = "",
) -> Response:
    """Record an emergency order (Điều 8.2) from the reports page (admin):
    every site, the sites picked (``site``, or ``site_ids``), and the boards
    named (ids separated by commas or spaces)."""
    typed: dict[str, Any] = {
        "authority": authority,
        "document_number": document_number,
        "document_date": document_date,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "summary": summary,
        "all_sites": all_sites is not None,
        "site_ids": site_ids or [],
        "site": (site or [])[: place_search.MANY],
        "board_ids": board_ids,
    }
    try:
        forms.fit({**typed, "all_sites": all_sites})
        picked = place_search.sites_picked(conn, user, typed["site"], "site")
        sites = [*(site_ids or []), *(s for s in picked if s not in (site_ids or []))]
        body = checked(
            EmergencyOrderIn,
            authority=authority,
            document_number=document_number,
            document_date=document_date,
            summary=summary,
            starts_at=_local(starts_at, "starts_at"),
            ends_at=_local(ends_at, "ends_at"),
            all_sites=all_sites is not None,
            site_ids=sites,
            board_ids=board_ids.replace(",", " ").split(),
        )
        orders.create_order(conn, user, user.acting_from(client_address(request)), body, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, typed, "new-order")
    return RedirectResponse("/reports?order=saved#emergency-orders", status_code=303)


def _download(
    target: str,
    request: Request,
    user: Principal,
    site_id: int | None = None,
    checked_values: dict[str, str] | None = None,
) -> RedirectResponse:
    """The form's non-empty fields, passed on to the API's download (the
    site picked as ``site_id``; ``checked_values``: fields as the console
    read them), with the reader's language: the file is named in it."""
    params = {k: v for k, v in request.query_params.items() if v.strip() and k != "site"}
    if site_id is not None:
        params["site_id"] = str(site_id)
    params.update(checked_values or {})
    params["lang"] = language_of(request, user)
    return RedirectResponse(f"{target}?{urlencode(params)}", status_code=303)


@router.get("/reports/annual")
def annual_download(request: Request, conn: Db, now: Now, user: Reporter) -> Response:
    """The annual report form, passed on to the API's download once its
    year is one there is a report of (``_report_year``), refused here on
    the form rather than as the API's JSON after the redirect."""
    query = request.query_params
    typed = {
        "year": query.get("year", "")[:10],
        "organisation_id": query.get("organisation_id", "")[:20],
    }
    try:
        year = _report_year(typed["year"], now)
    except RequestError as exc:
        return forms.refused(
            conn, exc, typed, lambda ctx: _page(request, conn, now, user, ctx), "annual",
            {"year": "reports.year"},
        )  # fmt: skip
    return _download("/api/v1/reports/annual", request, user, checked_values={"year": str(year)})


def _report_year(text: str, now: datetime) -> int:
    """A report year (Điều 14: 15 Dec of the year before to 14 Dec) typed:
    digits, from the first year the API reports on (its ``year`` bound:
    the platform's earliest data) to the latest whose report year has
    begun (a year in progress has its figures so far, as the API gives)."""
    first = reports.EARLIEST_DAY.year
    today = local_day(now)
    latest = today.year + 1 if Period.annual(today.year + 1).first_day <= today else today.year
    value = text.strip()
    if not (value.isascii() and value.isdigit() and first <= int(value) <= latest):
        raise Invalid(f"year: give a year from {first} to {latest}", field="year")
    return int(value)


@router.get("/reports/archive")
def archive_download(request: Request, conn: Db, now: Now, user: Reader) -> Response:
    """The archive form, passed on to the API's download; its site picker
    (``site``: a suggestion, a name or an id) as the API's ``site_id``."""
    query = request.query_params
    site = query.get("site", "")
    typed = {"from": query.get("from", "")[:10], "to": query.get("to", "")[:10]}
    try:
        reports.archive_days(forms.day(typed["from"], "from"), forms.day(typed["to"], "to"), now)
        site_id = (
            place_search.site_picked(conn, user, site[: forms.PICKED], "site", boards=False)
            if site.strip()
            else None
        )
    except RequestError as exc:
        return forms.refused(
            conn, exc, {**typed, "site": site[: forms.PICKED]},
            lambda ctx: _page(request, conn, now, user, ctx), "archive",
            {"site": "reports.site", "from": "audit.since", "to": "audit.until"},
        )  # fmt: skip
    return _download("/api/v1/archive", request, user, site_id)


@router.post("/reports/emergency-orders/{order_id}/revoke")
def order_revoke(
    request: Request,
    conn: Db,
    now: Now,
    user: OrderWriter,
    order_id: Annotated[int, Path(ge=1, le=2**62)],
    reason: Annotated[str, Form(), Longest(2000)] = "",
) -> Response:
    """Withdraw an order recorded in error (admin); its days are judged again."""
    typed = {"reason": reason}
    try:
        forms.fit(typed)
        if not reason.strip():
            raise Invalid("reason: Field required", field="reason")
        actor = user.acting_from(client_address(request))
        orders.revoke_order(conn, user, actor, order_id, reason=reason, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, exc, typed, f"order-{order_id}")
    return RedirectResponse("/reports?order=revoked#emergency-orders", status_code=303)
