"""The approved content page (``/content``, admins, operators, viewers); the
workflow's pages (Điều 10.1) are ``content_workflow``, the suppliers
``content_suppliers``, the broadcast windows of the site and board pages
``windows`` and ``windows_forms``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import content_workflow
from fleet_server.api.console.web import page_for, render
from fleet_server.api.deps import Db, Now
from fleet_server.content import storage
from fleet_server.content.models import KINDS, LANGUAGES, validity_status
from fleet_server.content.service import list_content
from fleet_server.content.service_files import archived

router = APIRouter(include_in_schema=False)
#: the workflow's pages (Điều 10.1)
router.include_router(content_workflow.router)

ContentReader = Annotated[Principal, Depends(page_for("content.read"))]
PAGE_SIZE = 50


@router.get("/content")
def content_page(
    request: Request,
    conn: Db,
    now: Now,
    user: ContentReader,
    show: Annotated[str, Query(pattern=r"^(current|all)$")] = "current",
    kind: Annotated[str, Query(max_length=20)] = "",
    language: Annotated[str, Query(max_length=10)] = "",
    q: Annotated[str, Query(max_length=100)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    filters = storage.Filters(
        kind=kind if kind in KINDS else None,
        language=language if language in LANGUAGES else None,
        valid_at=now if show == "current" else None,
        q=q.strip() or None,
    )
    page = list_content(conn, ListParams(limit=PAGE_SIZE, offset=offset, sort=None), filters)
    stored = archived(conn, (item.sha256 for item in page.items))  # Điều 9.1
    rows: list[dict[str, Any]] = [
        {
            "item": item,
            "status": validity_status(item.valid_from, item.valid_to, now),
            "archived": item.sha256 in stored,
        }
        for item in page.items
    ]
    return render(
        request,
        "content.html",
        user,
        {
            "page": page,
            "rows": rows,
            "kinds": KINDS,
            "languages": list(LANGUAGES),
            "form": {"show": show, "kind": kind, "language": language, "q": q},
        },
    )
