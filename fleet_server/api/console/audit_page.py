"""The audit log for administrators (``/audit``): filters by person,
action, dates (Vietnam days) and address, and a link to the CSV export of
the same selection (``/api/v1/audit-log.csv``, which the session cookie opens)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import cursor_pager, wording
from fleet_server.api.console.web import language_of, page_for, render
from fleet_server.api.deps import Db
from fleet_server.audit.schemas import AuditEntry, AuditFilters
from fleet_server.audit.service import list_audit
from fleet_server.localtime import LOCAL_TZ

router = APIRouter(include_in_schema=False)

Auditor = Annotated[Principal, Depends(page_for("audit.read"))]
PAGE_SIZE = 100
#: Action prefixes offered in the filter (the API takes any prefix).
ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "incident.",
    "ticket.",
    "user.",
    "content.",
    "broadcast_windows.",
    "audit.",
)
Text = Annotated[str, Query(max_length=200)]


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def filters_from(actor: str, action: str, since: str, until: str, address: str) -> AuditFilters:
    """Form values to API filters; dates are whole days in Vietnam time, the
    end day included."""
    first, last = _day(since), _day(until)
    return AuditFilters(
        actor=actor.strip().lower() or None,
        action=action.strip() or None,
        since=datetime.combine(first, time(), LOCAL_TZ) if first else None,
        until=datetime.combine(last + timedelta(days=1), time(), LOCAL_TZ) if last else None,
        address=address.strip() or None,
    )


def export_url(filters: AuditFilters) -> str:
    params = {
        key: value.isoformat() if isinstance(value, datetime) else value
        for key, value in filters.model_dump().items()
        if value is not None
    }
    return "/api/v1/audit-log.csv" + ("?" + urlencode(params) if params else "")


def _changes(entry: AuditEntry, language: str) -> list[tuple[str, str, str]]:
    """(field, before, after) rows, each field and value in words."""
    return wording.changes(entry.before, entry.after, language)


@router.get("/audit")
def audit_page(
    request: Request,
    conn: Db,
    user: Auditor,
    actor: Text = "",
    action: Text = "",
    since: Text = "",
    until: Text = "",
    address: Annotated[str, Query(max_length=50)] = "",
    cursor: cursor_pager.CursorQuery = None,
) -> Response:
    filters = filters_from(actor, action, since, until, address)
    paging = ListParams(limit=PAGE_SIZE, offset=0, sort=None, cursor=cursor)
    page = list_audit(conn, user, paging, filters)
    language = language_of(request, user)
    rows: list[dict[str, Any]] = [
        {"entry": e, "changes": _changes(e, language)} for e in page.items
    ]
    return render(
        request,
        "audit.html",
        user,
        {
            "page": page,
            "pager": cursor_pager.links("/audit", request.query_params, page, cursor),
            "rows": rows,
            "actions": ACTIONS,
            "form": {
                "actor": actor,
                "action": action,
                "since": since,
                "until": until,
                "address": address,
            },
            "export_url": export_url(filters),
        },
    )
