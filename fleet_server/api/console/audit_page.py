"""The audit log for administrators (``/audit``), with filters and a link to
the CSV export of the same selection."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from fleet_server.api.console.web import page_for, render
from fleet_server.api.scope import Principal

router = APIRouter(include_in_schema=False)

Auditor = Annotated[Principal, Depends(page_for("audit.read"))]


@router.get("/audit")
def audit_page(request: Request, user: Auditor) -> Response:
    return render(request, "audit.html", user, {})
