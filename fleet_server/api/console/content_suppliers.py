"""The supplying units in the console (``/content/suppliers``): the list with
the overdue ones, and the form that adds a unit (approvers). The form goes
through the same service as the API and comes back with a confirmation."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.content_workflow import LABELS
from fleet_server.api.console.forms import Longest, checked, whole
from fleet_server.api.console.web import form_for, page_for, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.content import service_suppliers
from fleet_server.content.obligations import OBLIGATIONS
from fleet_server.content.schemas_workflow import SupplierIn
from fleet_server.errors import Invalid, RequestError

router = APIRouter(include_in_schema=False)

Reader = Annotated[Principal, Depends(page_for("content.read"))]
ApproveForm = Annotated[Principal, Depends(form_for("content.approve"))]


@router.get("/content/suppliers")
def suppliers_page(request: Request, conn: Db, now: Now, user: Reader) -> Response:
    return _suppliers_page(request, conn, now, user)


def _suppliers_page(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    refusal: dict[str, Any] | None = None,
) -> Response:
    return render(
        request,
        "content_suppliers.html",
        user,
        {
            "suppliers": service_suppliers.list_suppliers(conn, user, now),
            "overdue": service_suppliers.list_overdue(conn, user, now),
            "obligations": OBLIGATIONS,
            "may_edit": user.can("content.approve"),
            "done": request.query_params.get("done") == "supplier" and refusal is None,
            **(refusal or {}),
        },
    )


@router.post("/content/suppliers")
def supplier_form(
    request: Request,
    conn: Db,
    now: Now,
    user: ApproveForm,
    name: Annotated[str, Form(), Longest(200)] = "",
    obligation: Annotated[str, Form(), Longest(20)] = "",
    organisation_id: Annotated[str, Form(), Longest(20)] = "",
    min_items: Annotated[str, Form(), Longest(10)] = "1",
    obligation_from: Annotated[str, Form(), Longest(10)] = "",
) -> Response:
    typed = {
        "name": name,
        "obligation": obligation,
        "organisation_id": organisation_id,
        "min_items": min_items,
        "obligation_from": obligation_from,
    }
    try:
        forms.fit(typed)
        try:
            start = date.fromisoformat(obligation_from) if obligation_from.strip() else None
        except ValueError:
            raise Invalid("obligation_from: not a date", field="obligation_from") from None
        body = checked(
            SupplierIn,
            name=name,
            obligation=obligation,
            organisation_id=int(organisation_id) if organisation_id.strip().isdigit() else None,
            min_items=whole(min_items or "1", "min_items"),
            obligation_from=start,
        )
        actor = user.acting_from(client_address(request))
        service_suppliers.create_supplier(conn, user, actor, body, now)
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            typed,
            lambda ctx: _suppliers_page(request, conn, now, user, ctx),
            "supplier",
            LABELS,
        )
    conn.commit()
    return RedirectResponse("/content/suppliers?done=supplier", status_code=303)
