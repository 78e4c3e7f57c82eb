"""Opening a ticket by hand (``/tickets/new``), from an incident's page (the
incident linked, the place and a priority from its severity filled in), a
site's page (that site's boards offered) or the ticket queue (every site).
The same fields and checks as ``POST /api/v1/tickets`` (``ticket.write``,
the caller's sites, linked incidents at the ticket's site); the due time
follows the priority (the SLA) and the team the site. Given someone to do
it, the ticket is assigned at once, as ``POST /api/v1/tickets/{id}/assign``
would (``ticket.work``)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms, place_search
from fleet_server.api.console.forms import Longest, WhereField, checked, chosen
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, NotFound, RequestError
from fleet_server.incidents.schemas import IncidentDetail
from fleet_server.incidents.service import get_incident
from fleet_server.tickets.models import Sla
from fleet_server.tickets.schemas import BOARD_ID, TicketCreate
from fleet_server.tickets.service import assign_ticket, create_ticket

router = APIRouter(include_in_schema=False)

Opener = Annotated[Principal, Depends(page_for("ticket.write"))]
OpenForm = Annotated[Principal, Depends(form_for("ticket.write"))]
KINDS = ("corrective", "inspection", "preventive")
PRIORITIES = ("urgent", "high", "normal", "low")
#: An incident's severity -> the priority its ticket starts with.
PRIORITY_OF = {"critical": "urgent", "major": "high", "minor": "normal", "warning": "low"}
Id = Annotated[int | None, Query(ge=1, le=2**62)]


@router.get("/tickets/new")
def new_ticket_page(
    request: Request,
    conn: Db,
    user: Opener,
    incident_id: Id = None,
    site_id: Id = None,
    board_id: Annotated[str | None, Query(pattern=BOARD_ID)] = None,
) -> Response:
    return _page(request, conn, user, incident_id, site_id, board_id)


def _page(
    request: Request,
    conn: Conn,
    user: Principal,
    incident_id: int | None,
    site_id: int | None,
    board_id: str | None,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The form; after a refusal (``refusal``), with what was typed and why."""
    incident: IncidentDetail | None = None
    choice = chosen(site_id, board_id)
    if incident_id is not None:
        try:
            incident = get_incident(conn, user, incident_id)
        except NotFound:
            if refusal is None:
                raise
            incident = None  # a refused form linked to nothing: the plain form
    if incident is not None:
        site_id = incident.site_id
        choice = chosen(site_id, incident.board_id)
    context: dict[str, Any] = {
        "incident": incident,
        "places": place_search.shortlist(conn, user, site_id=site_id),
        "one_site": site_id is not None,
        "chosen": choice,
        "kinds": KINDS,
        "priorities": PRIORITIES,
        "priority": PRIORITY_OF.get(incident.severity, "normal") if incident else "normal",
        "sla_hours": Sla().hours,
        "may_assign": user.can("ticket.work"),
    }
    if refusal is not None:
        typed = refusal["form"]
        context.update(refusal, chosen=typed["where"], priority=typed["priority"])
    return render(request, "ticket_new.html", user, context)


#: The form's fields -> the label they are shown under.
LABELS = {
    "where": "ops.where",
    "site_id": "ops.where",
    "board_id": "ops.where",
    "title": "ticket.title",
    "kind": "ticket.kind",
    "priority": "ticket.priority",
    "assignee": "ticket_new.assignee",
    "description": "ticket_new.description",
    "incident_ids": "ticket_new.incidents",
}


def _incident_ids(text: str) -> list[int]:
    """``12, 15`` or ``#12 #15``: the incidents to link."""
    parts = [p for p in re.split(r"[\s,;#]+", text) if p]
    if not all(p.isdigit() for p in parts):
        raise Invalid("incident_ids: give incident numbers, e.g. 12, 15", field="incident_ids")
    return [int(p) for p in parts]


@router.post("/tickets/new")
def new_ticket(
    request: Request,
    conn: Db,
    now: Now,
    user: OpenForm,
    where_: WhereField = "",
    title: Annotated[str, Form(), Longest(200)] = "",
    kind: Annotated[str, Form(), Longest(20)] = "corrective",
    priority: Annotated[str, Form(), Longest(20)] = "normal",
    description: Annotated[str, Form(), Longest(5000)] = "",
    incident_ids: Annotated[str, Form(), Longest(500)] = "",
    assignee: Annotated[str, Form(), Longest(64)] = "",
) -> Response:
    typed = {
        "where": where_,
        "title": title,
        "kind": kind,
        "priority": priority,
        "description": description,
        "incident_ids": incident_ids,
        "assignee": assignee,
    }
    try:
        forms.fit(typed)
        site_id, board_id = place_search.resolve(conn, user, where_)
        body = checked(
            TicketCreate,
            site_id=site_id,
            board_id=board_id,
            kind=kind,
            priority=priority,
            title=title,
            description=description.strip(),
            incident_ids=_incident_ids(incident_ids),
        )
        actor = user.acting_from(client_address(request))
        ticket = create_ticket(conn, user, actor, body, now=now)
        flash = "ticket_created"
        if assignee.strip():
            if not user.can("ticket.work"):
                raise Invalid("assignee: your role may not assign tickets", field="assignee")
            assign_ticket(conn, user, actor, ticket.id, assignee, now=now)
            flash = "ticket_created_assigned"
    except RequestError as exc:
        # from an incident's page (its id alone): that page's form again
        linked = int(incident_ids) if incident_ids.strip().isdigit() else None
        return forms.refused(
            conn,
            exc,
            typed,
            lambda ctx: _page(request, conn, user, linked, None, None, ctx),
            labels=LABELS,
        )
    conn.commit()
    return redirect(f"/tickets/{ticket.id}", flash=flash)
