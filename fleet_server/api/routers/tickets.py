"""/api/v1 tickets: the maintenance queue (Điều 11): create, assign, move
through the state machine, comment, record costs by budget line. The
operations are in ``fleet_server.tickets.service``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_server.access.pagination import CursorPage
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import KeysetPaging, Paging, link_next
from fleet_server.tickets import service
from fleet_server.tickets.models import STATES, CostCategory, Kind, Priority, TicketFilter
from fleet_server.tickets.schemas import (
    BOARD_ID,
    MAX_ID,
    NO_NUL,
    Assignee,
    AssignIn,
    CommentIn,
    CostIn,
    CostOut,
    CostPage,
    TicketCreate,
    TicketDetail,
    TicketEventOut,
    TicketOut,
    TransitionIn,
)

router = APIRouter(tags=["tickets"])

Reader = Annotated[Principal, Depends(require("ticket.read"))]
Writer = Annotated[Principal, Depends(require("ticket.write"))]
Worker = Annotated[Principal, Depends(require("ticket.work"))]
Commenter = Annotated[Principal, Depends(require("ticket.comment"))]
Coster = Annotated[Principal, Depends(require("ticket.cost"))]
TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="ticket id")]


# -- routes -------------------------------------------------------------------------


@router.get("/tickets", summary="tickets the caller sees, filtered, sorted and paged")
def tickets_list(
    request: Request,
    response: Response,
    conn: Db,
    now: Now,
    user: Reader,
    paging: KeysetPaging,
    state: Annotated[
        list[str] | None,
        Query(
            description=f"repeat or comma-separate; one of: {', '.join(STATES)}",
            max_length=20,
        ),
    ] = None,
    site_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    board_id: Annotated[str | None, Query(pattern=BOARD_ID)] = None,
    assignee: Annotated[str | None, Query(max_length=64, pattern=NO_NUL)] = None,
    team: Annotated[str | None, Query(max_length=100, pattern=NO_NUL)] = None,
    kind: Kind | None = None,
    priority: Priority | None = None,
    overdue: Annotated[
        bool | None, Query(description="true: past due and not resolved or closed")
    ] = None,
) -> CursorPage[TicketOut]:
    """Sort by one of: id, created_at, updated_at, due_at, priority (urgent
    first), state (in lifecycle order). Default: newest first. Page with
    ``cursor`` (each page's ``next_cursor``, also in the ``Link`` header);
    ``total`` counts at most 10,000 (``total_capped``)."""
    page = service.list_tickets(
        conn,
        user,
        paging,
        now=now,
        filters=TicketFilter(
            states=tuple(state or ()),
            site_id=site_id,
            board_id=board_id,
            assignee=assignee,
            team=team,
            kind=kind,
            priority=priority,
            overdue=overdue,
        ),
    )
    link_next(request, response, page)
    return page


@router.post(
    "/tickets",
    status_code=201,
    summary="open a ticket at a site or board",
    responses={404: {"description": "site, board or incident not found"}},
)
def tickets_create(
    request: Request, conn: Db, now: Now, user: Writer, body: TicketCreate
) -> TicketDetail:
    actor = user.acting_from(client_address(request))
    return service.create_ticket(conn, user, actor, body, now=now)


@router.get("/tickets/{ticket_id}", summary="a ticket with its timeline, costs and incidents")
def tickets_get(conn: Db, now: Now, user: Reader, ticket_id: TicketId) -> TicketDetail:
    return service.get_ticket(conn, user, ticket_id, now=now)


@router.get(
    "/tickets/{ticket_id}/assignees",
    summary="who the ticket may be given to: the team's and the site's technicians, then operators",
)
def tickets_assignees(conn: Db, now: Now, user: Worker, ticket_id: TicketId) -> list[Assignee]:
    """Active accounts that may work the ticket and have to do with it
    (technicians: only themselves), with their unfinished tickets."""
    return service.assignable_users(conn, user, ticket_id, now=now)


@router.post(
    "/tickets/{ticket_id}/assign",
    summary="assign the ticket to an active user (technicians: only to themselves)",
    responses={409: {"description": "the ticket is resolved or closed"}},
)
def tickets_assign(
    request: Request, conn: Db, now: Now, user: Worker, ticket_id: TicketId, body: AssignIn
) -> TicketOut:
    actor = user.acting_from(client_address(request))
    return service.assign_ticket(conn, user, actor, ticket_id, body.assignee, now=now)


@router.post(
    "/tickets/{ticket_id}/transition",
    summary="move the ticket to another state",
    responses={409: {"description": "the state machine refuses the move; detail says why"}},
)
def tickets_transition(
    request: Request, conn: Db, now: Now, user: Worker, ticket_id: TicketId, body: TransitionIn
) -> TicketOut:
    actor = user.acting_from(client_address(request))
    return service.transition_ticket(conn, user, actor, ticket_id, body.to, note=body.note, now=now)


@router.post("/tickets/{ticket_id}/comments", status_code=201, summary="comment on a ticket")
def tickets_comment(
    request: Request, conn: Db, now: Now, user: Commenter, ticket_id: TicketId, body: CommentIn
) -> TicketEventOut:
    actor = user.acting_from(client_address(request))
    return service.comment_ticket(conn, user, actor, ticket_id, body.text, now=now)


@router.post(
    "/tickets/{ticket_id}/costs",
    status_code=201,
    summary="record a cost on a Điều 11 budget line (power, repair, maintenance, internet, other)",
)
def tickets_add_cost(
    request: Request, conn: Db, now: Now, user: Coster, ticket_id: TicketId, body: CostIn
) -> CostOut:
    actor = user.acting_from(client_address(request))
    return service.add_ticket_cost(conn, user, actor, ticket_id, body, now=now)


@router.get("/tickets/{ticket_id}/costs", summary="a ticket's costs with totals per budget line")
def tickets_costs(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    ticket_id: TicketId,
    category: CostCategory | None = None,
) -> CostPage:
    return service.list_ticket_costs(conn, user, ticket_id, paging, now=now, category=category)
