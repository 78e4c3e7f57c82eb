"""The notices view (``/notices``): every notice queued for people — incident,
ticket, report and content notices — with whom it goes to, on which channel,
when it was queued and sent, and whether it was delivered or why it failed.
Filters by state and kind; admins and operators, within their scope. With no
mail server (the demo) this is where the notices are read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import Db
from fleet_server.notifications.models import NOTICE_KINDS
from fleet_server.notifications.schemas_notices import NOTICE_STATES, NoticeFilter
from fleet_server.notifications.service_notices import list_notices, state_counts

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
Reader = Annotated[Principal, Depends(page_for("notice.read"))]
Choice = Annotated[str, Query(max_length=40)]


@router.get("/notices")
def notices_page(
    request: Request,
    conn: Db,
    user: Reader,
    state: Choice = "",
    kind: Choice = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """A state or kind the filter does not offer is a 400 naming it."""
    filters = NoticeFilter(state=state.strip() or None, kind=kind.strip() or None)
    counts = state_counts(conn, user)
    page = list_notices(
        conn, user, ListParams(limit=PAGE_SIZE, offset=offset, sort=None), filters, counts
    )
    return render(
        request,
        "notices.html",
        user,
        {
            "page": page,
            "notices": page.items,
            "filters": {"state": filters.state or "", "kind": filters.kind or ""},
            "states": NOTICE_STATES,
            "kinds": NOTICE_KINDS,
            "counts": counts,
        },
    )
