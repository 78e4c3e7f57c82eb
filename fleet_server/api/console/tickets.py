"""The ticket queue (``/tickets``), one ticket (``/tickets/{id}``) and its
forms: assign, change state (closing needs a note), comment, record a cost."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import Response

from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Actor, Principal
from fleet_server.api.console import cursor_pager, forms
from fleet_server.api.console.forms import Longest, checked
from fleet_server.api.console.incidents import BoardQuery
from fleet_server.api.console.web import form_for, page_for, redirect, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.errors import Invalid, RequestError
from fleet_server.notifications.service_notices import notices_of
from fleet_server.tickets.models import COST_CATEGORIES, TRANSITIONS, TicketFilter
from fleet_server.tickets.schemas import Assignee, CostIn, TicketDetail, TicketOut
from fleet_server.tickets.service import (
    add_ticket_cost,
    assign_ticket,
    assignable_for,
    comment_ticket,
    get_ticket,
    list_tickets,
    transition_ticket,
)

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
UNFINISHED = ["open", "assigned", "in_progress", "on_hold", "resolved"]
TicketId = Annotated[int, Path(ge=1, le=2**62)]
Reader = Annotated[Principal, Depends(page_for("ticket.read"))]
Worker = Annotated[Principal, Depends(form_for("ticket.work"))]
Commenter = Annotated[Principal, Depends(form_for("ticket.comment"))]
Coster = Annotated[Principal, Depends(form_for("ticket.cost"))]
QueueFilter = Literal["open", "mine", "all", "closed"]


def open_tickets(
    conn: Conn,
    user: Principal,
    *,
    now: datetime,
    site_id: int | None = None,
    board_id: str | None = None,
) -> list[TicketOut]:
    """Unfinished tickets of a site or a board (for their pages)."""
    return list_tickets(
        conn,
        user,
        ListParams(limit=50, offset=0, sort="due_at"),
        now=now,
        filters=TicketFilter(states=tuple(UNFINISHED), site_id=site_id, board_id=board_id),
    ).items


def ticket_queue(
    conn: Conn,
    user: Principal,
    now: datetime,
    show: str,
    cursor: str | None,
    board_id: str | None = None,
) -> CursorPage[TicketOut]:
    """The list ``show`` names (``open``, ``mine``, ``closed``, ``all``),
    one board's only when ``board_id`` is given (its page's link)."""
    paging = ListParams(limit=PAGE_SIZE, offset=0, sort="due_at", cursor=cursor)
    if show == "all":
        paging = paging.model_copy(update={"sort": "-created_at"})
        chosen = TicketFilter(board_id=board_id)
    elif show == "closed":
        paging = paging.model_copy(update={"sort": "-updated_at"})
        chosen = TicketFilter(states=("closed",), board_id=board_id)
    elif show == "mine":
        chosen = TicketFilter(states=tuple(UNFINISHED), assignee=user.username, board_id=board_id)
    else:
        chosen = TicketFilter(states=tuple(UNFINISHED), board_id=board_id)
    return list_tickets(conn, user, paging, now=now, filters=chosen)


@router.get("/tickets")
def tickets_page(
    request: Request,
    conn: Db,
    now: Now,
    user: Reader,
    show: Annotated[QueueFilter | None, Query()] = None,
    cursor: cursor_pager.CursorQuery = None,
    board_id: BoardQuery = None,
) -> Response:
    chosen = show or ("mine" if user.role == "technician" else "open")
    page = ticket_queue(conn, user, now, chosen, cursor, board_id)
    return render(
        request,
        "tickets.html",
        user,
        {
            "page": page,
            "pager": cursor_pager.links("/tickets", request.query_params, page, cursor),
            "show": chosen,
            "choices": ("open", "mine", "closed", "all"),
            "board_id": board_id,
        },
    )


@router.get("/tickets/{ticket_id}")
def ticket_page(
    request: Request, conn: Db, now: Now, user: Reader, ticket_id: TicketId
) -> Response:
    return _ticket_page(request, conn, now, user, ticket_id)


def _ticket_page(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    ticket_id: int,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The ticket and its forms; after a refusal (``refusal``), with what
    was typed and why."""
    ticket = get_ticket(conn, user, ticket_id, now=now)
    context: dict[str, Any] = {
        "ticket": ticket,
        "moves": sorted(TRANSITIONS.get(str(ticket.state), frozenset()), key=_state_order),
        "cost_categories": COST_CATEGORIES,
        "assignee_groups": assignee_groups(conn, user, ticket),
        "notices": notices_of(conn, user, ticket_id=ticket_id),
        **(refusal or {}),
    }
    return render(request, "ticket.html", user, context)


#: The forms' fields -> the label they are shown under.
LABELS = {
    "assignee": "ticket.assign_to",
    "to": "ticket.move_to",
    "note": "ticket.move_note",
    "text": "ticket.comment",
    "category": "ticket.cost_category",
    "description": "ticket.cost_note",
    "amount_vnd": "ticket.cost_amount",
    "quantity": "ticket.cost_amount",
}


def _refused(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    ticket_id: int,
    exc: RequestError,
    typed: dict[str, Any],
    where: str,
) -> Response:
    """The ticket's page again with why its form ``where`` was refused."""
    return forms.refused(
        conn,
        exc,
        typed,
        lambda ctx: _ticket_page(request, conn, now, user, ticket_id, ctx),
        where,
        LABELS,
    )


#: How the assign form groups the people it offers, in this order.
ASSIGNEE_GROUPS = ("team", "site", "organisation")


def assignee_groups(
    conn: Conn, user: Principal, ticket: TicketDetail
) -> list[tuple[str, list[Assignee]]]:
    """The assign form's choices, grouped (the ticket's team first). Empty
    when the form offers no choice: a technician can only take the ticket."""
    if not user.can("ticket.work") or user.role == "technician" or ticket.state == "closed":
        return []
    offered = assignable_for(conn, user, ticket)  # get_ticket found it in scope
    groups = [(reason, [a for a in offered if a.reason == reason]) for reason in ASSIGNEE_GROUPS]
    return [(reason, people) for reason, people in groups if people]


def _state_order(state: str) -> int:
    order = ("open", "assigned", "in_progress", "on_hold", "resolved", "closed")
    return order.index(state) if state in order else len(order)


def _actor(request: Request, user: Principal) -> Actor:
    return user.acting_from(client_address(request))


def _back(ticket_id: int, done: str) -> Response:
    """Back to the ticket, saying what was done (``flash.ticket_<done>``)."""
    return redirect(f"/tickets/{ticket_id}", flash=f"ticket_{done}")


@router.post("/tickets/{ticket_id}/assign")
def assign(
    request: Request,
    conn: Db,
    now: Now,
    user: Worker,
    ticket_id: TicketId,
    assignee: Annotated[str, Form(), Longest(64)] = "",
) -> Response:
    typed = {"assignee": assignee}
    try:
        forms.fit(typed)
        name = assignee.strip() or (user.username if user.role == "technician" else "")
        if not name:
            raise Invalid("assignee: say who gets the ticket", field="assignee")
        assign_ticket(conn, user, _actor(request, user), ticket_id, name, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, ticket_id, exc, typed, "assign")
    conn.commit()
    return _back(ticket_id, "assigned")


@router.post("/tickets/{ticket_id}/transition")
def transition(
    request: Request,
    conn: Db,
    now: Now,
    user: Worker,
    ticket_id: TicketId,
    to: Annotated[str, Form(), Longest(32)] = "",
    note: Annotated[str, Form(), Longest(5000)] = "",
) -> Response:
    typed = {"to": to, "note": note}
    try:
        forms.fit(typed)
        if to == "closed" and not note.strip():
            raise Invalid("note: closing a ticket needs a note", field="note")
        transition_ticket(
            conn, user, _actor(request, user), ticket_id, to, note=note.strip() or None, now=now
        )
    except RequestError as exc:
        return _refused(request, conn, now, user, ticket_id, exc, typed, "transition")
    conn.commit()
    return _back(ticket_id, "moved")


@router.post("/tickets/{ticket_id}/comment")
def comment(
    request: Request,
    conn: Db,
    now: Now,
    user: Commenter,
    ticket_id: TicketId,
    text: Annotated[str, Form(), Longest(5000)] = "",
) -> Response:
    typed = {"text": text}
    try:
        forms.fit(typed)
        if not text.strip():
            raise Invalid("text: a comment cannot be empty", field="text")
        comment_ticket(conn, user, _actor(request, user), ticket_id, text.strip(), now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, ticket_id, exc, typed, "comment")
    conn.commit()
    return _back(ticket_id, "commented")


@router.post("/tickets/{ticket_id}/cost")
def cost(
    request: Request,
    conn: Db,
    now: Now,
    user: Coster,
    ticket_id: TicketId,
    category: Annotated[str, Form(), Longest(32)] = "",
    description: Annotated[str, Form(), Longest(500)] = "",
    amount_vnd: Annotated[str, Form(), Longest(32)] = "",
    quantity: Annotated[str, Form(), Longest(32)] = "1",
) -> Response:
    typed = {
        "category": category,
        "description": description,
        "amount_vnd": amount_vnd,
        "quantity": quantity,
    }
    try:
        forms.fit(typed)
        amount = _amount(amount_vnd, "amount_vnd")
        body = checked(
            CostIn,
            category=category,  # the model validates it
            description=description.strip(),
            amount_vnd=int(amount),
            quantity=_amount(quantity or "1", "quantity"),
        )
        add_ticket_cost(conn, user, _actor(request, user), ticket_id, body, now=now)
    except RequestError as exc:
        return _refused(request, conn, now, user, ticket_id, exc, typed, "cost")
    conn.commit()
    return _back(ticket_id, "cost_added")


def _amount(text: str, field: str) -> Decimal:
    """``1.500.000`` or ``1 500 000`` đồng, or ``1,5`` for a quantity."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "")
    if cleaned.count(".") > 1 or (cleaned.count(".") == 1 and len(cleaned.split(".")[1]) == 3):
        cleaned = cleaned.replace(".", "")
    try:
        found = Decimal(cleaned.replace(",", "."))
    except InvalidOperation:
        raise Invalid(f"{field}: give a number, e.g. 1.500.000", field=field) from None
    if not found.is_finite():
        raise Invalid(f"{field}: give a number, e.g. 1.500.000", field=field)
    return found
