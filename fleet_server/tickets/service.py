"""The ticket operations (Điều 11): list, show, create, assign, move through
the state machine, comment, record costs by budget line.

Operators and admins see the tickets of their sites; technicians only those
assigned to them or to their team (``Scope.ticket_assignee``). The API's
routes and the web console both call these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from fleet_server.access import audit
from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Actor, Principal
from fleet_server.access.roles import CAPABILITIES
from fleet_server.errors import Forbidden, Invalid, NotFound
from fleet_server.tickets import (
    notices,
    storage,
    storage_assignees,
    storage_costs,
    storage_detail,
)
from fleet_server.tickets.models import ASSIGNEE_ROLES, STATES, AssigneeOutOfScope, TicketFilter
from fleet_server.tickets.schemas import (
    Assignee,
    CostIn,
    CostOut,
    CostPage,
    TicketCreate,
    TicketDetail,
    TicketEventOut,
    TicketOut,
)
from fleet_server.tickets.storage import Conn


def parse_states(values: Sequence[str] | None) -> list[str] | None:
    """``state=open&state=assigned`` or ``state=open,assigned``; unknown names are a 400."""
    if not values:
        return None
    states = [s.strip() for v in values for s in v.split(",") if s.strip()]
    for s in states:
        if s not in STATES:
            raise Invalid(
                f"state: unknown ticket state {s!r}; one of: {', '.join(STATES)}",
                errors=[{"field": "state", "message": f"unknown ticket state {s!r}"}],
            )
    return states or None


def list_tickets(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    now: datetime,
    filters: TicketFilter | None = None,
) -> CursorPage[TicketOut]:
    """The tickets the caller sees, filtered; ``filters.states`` may list
    several states (``open,assigned`` or one a value)."""
    user.need("ticket.read")
    wanted = filters or TicketFilter()
    wanted = replace(wanted, states=tuple(parse_states(wanted.states) or ()))
    return storage.list_page(conn, user.scope, paging, now=now, filters=wanted)


def _load(
    conn: Conn, user: Principal, ticket_id: int, now: datetime, *, lock: bool = False
) -> dict[str, Any]:
    """The ticket as a row dict (with description and closing note), or 404
    when it does not exist or the caller may not see it."""
    row = storage.ticket_row(conn, user.scope, ticket_id, now=now, lock=lock)
    if row is None:
        raise NotFound("ticket", ticket_id)
    return row


def _out(row: dict[str, Any]) -> TicketOut:
    return TicketOut.model_validate({k: row[k] for k in TicketOut.model_fields})


def get_ticket(conn: Conn, user: Principal, ticket_id: int, *, now: datetime) -> TicketDetail:
    """One ticket with its timeline, costs (and totals per budget line) and
    the incidents it was opened for."""
    user.need("ticket.read")
    parts = storage_detail.ticket_parts(conn, user.scope, ticket_id, now=now)  # one round trip
    if parts is None:
        raise NotFound("ticket", ticket_id)
    return TicketDetail(
        **parts.row,
        events=parts.events,
        costs=parts.costs,
        cost_totals=parts.totals,
        cost_total_vnd=sum(parts.totals.values()),
        incidents=parts.incidents,
    )


def tickets_of_incident(
    conn: Conn, user: Principal, incident_id: int, *, now: datetime
) -> list[TicketOut]:
    """The tickets the caller sees that were opened for an incident, newest first."""
    user.need("ticket.read")
    return storage.of_incident(conn, user.scope, incident_id, now=now)


def assignable_users(
    conn: Conn, user: Principal, ticket_id: int, *, now: datetime
) -> list[Assignee]:
    """Active accounts the ticket may be given to and that have to do with
    it, the ticket's team first, then other technicians of the site, then
    the operators. A technician is offered only themselves. 404 when the
    caller does not see the ticket."""
    user.need("ticket.work")
    _load(conn, user, ticket_id, now)
    return _assignable(conn, user, ticket_id)


def assignable_for(conn: Conn, user: Principal, ticket: TicketDetail) -> list[Assignee]:
    """:func:`assignable_users` of a ticket the caller has just read with
    :func:`get_ticket` (which found it in their scope: not read again)."""
    user.need("ticket.work")
    return _assignable(conn, user, ticket.id)


def _assignable(conn: Conn, user: Principal, ticket_id: int) -> list[Assignee]:
    if user.role == "technician":
        own = storage_assignees.own_entry(conn, user.username, user.user_id)
        if own is None:
            return []
        full_name, team, open_tickets = own
        return [
            Assignee(
                username=user.username,
                full_name=full_name,
                role=user.role,
                team=team,
                reason="self",
                open_tickets=open_tickets,
            )
        ]
    roles = [r for r in ASSIGNEE_ROLES if "ticket.work" in CAPABILITIES.get(r, frozenset())]
    return storage_assignees.offered(conn, ticket_id, roles)


def _where(conn: Conn, user: Principal, body: TicketCreate) -> int:
    """The site of the new ticket: the board's (at the site, if both are
    given) or the site given; 404 when the caller does not see it."""
    if body.board_id is not None:
        found = storage.board_site(conn, user.scope, body.board_id)
        if found is None:
            raise NotFound("board", body.board_id)
        if body.site_id is not None and body.site_id != found:
            raise Invalid(
                f"board_id: board {body.board_id} is not at site {body.site_id}",
                errors=[{"field": "board_id", "message": "not at that site"}],
            )
        return found
    assert body.site_id is not None
    if not storage.site_visible(conn, user.scope, body.site_id):
        raise NotFound("site", body.site_id)
    return body.site_id


def create_ticket(
    conn: Conn, user: Principal, actor: Actor, body: TicketCreate, *, now: datetime
) -> TicketDetail:
    """Open a ticket at a site or board the caller runs, linked to incidents
    of that site if given."""
    user.need("ticket.write")
    site_id = _where(conn, user, body)
    incident_ids = list(dict.fromkeys(body.incident_ids))
    if incident_ids:
        seen = storage.incident_sites(conn, user.scope, incident_ids)
        for incident_id in incident_ids:
            if incident_id not in seen:
                raise NotFound("incident", incident_id)
            if seen[incident_id] != site_id:
                raise Invalid(
                    f"incident_ids: incident {incident_id} is at another site than the ticket",
                    errors=[{"field": "incident_ids", "message": "incident at another site"}],
                )
    ticket, _ = storage.create(
        conn,
        site_id=site_id,
        board_id=body.board_id,
        kind=body.kind,
        priority=body.priority,
        title=body.title.strip(),
        description=body.description,
        actor=actor.username,
        now=now,
    )
    for incident_id in incident_ids:
        storage.link_incident(conn, ticket.id, incident_id, actor=actor.username, now=now)
    detail = get_ticket(conn, user, ticket.id, now=now)
    audit.record(
        conn,
        actor,
        "ticket.create",
        target_type="ticket",
        target_id=ticket.id,
        after={
            **_out(detail.model_dump()).model_dump(mode="json"),
            "description": detail.description,
            "incident_ids": incident_ids,
        },
    )
    return detail


def _brief(row: dict[str, Any] | TicketOut) -> dict[str, Any]:
    data = row.model_dump(mode="json") if isinstance(row, TicketOut) else row
    return {"state": str(data["state"]), "assignee": data["assignee"]}


def may_see_site(conn: Conn, username: str, site_id: int) -> bool:
    """Whether the account's scope (``Principal.scope``, as if it signed in
    now) includes the site: a ticket is only given to people who may see
    where it is."""
    scope = storage_assignees.account_scope(conn, username)
    return scope is not None and storage.site_visible(conn, scope, site_id)


def assign_ticket(
    conn: Conn,
    user: Principal,
    actor: Actor,
    ticket_id: int,
    assignee: str,
    *,
    now: datetime,
) -> TicketOut:
    """Give the ticket to an active account that works on tickets; a
    technician may only take it themselves. An open ticket becomes assigned;
    a resolved or closed one is a 409 (``TicketError``). A new assignee is
    told (``ticket_assigned``, in the same transaction)."""
    user.need("ticket.work")
    row = _load(conn, user, ticket_id, now, lock=True)
    name = assignee.strip().lower()
    if user.role == "technician" and name != user.username:
        raise Forbidden("a technician may only assign a ticket to themselves")
    account = storage_assignees.account_role(conn, name)
    if account is None or not account[1]:
        raise Invalid(
            f"assignee: there is no active user {name!r}",
            errors=[{"field": "assignee", "message": "no such active user"}],
        )
    if "ticket.work" not in CAPABILITIES.get(account[0], frozenset()):
        raise Invalid(
            f"assignee: user {name!r} is a {account[0]} and cannot work on tickets",
            errors=[{"field": "assignee", "message": "this role cannot work on tickets"}],
        )
    if not may_see_site(conn, name, int(row["site_id"])):
        raise AssigneeOutOfScope(
            f"assignee: user {name!r} may not see this ticket's site ({row['site_code']}):"
            " give it to someone whose organisation, sites or team include it",
            errors=[{"field": "assignee", "message": "may not see the ticket's site"}],
        )
    storage.assign(conn, ticket_id, name, actor=actor.username, now=now)
    if row["assignee"] != name:  # the new assignee (and the routes) hear of it
        notices.queue_assigned(conn, ticket_id, now)
    after = _out(_load(conn, user, ticket_id, now))
    audit.record(
        conn,
        actor,
        "ticket.assign",
        target_type="ticket",
        target_id=ticket_id,
        before=_brief(row),
        after=_brief(after),
    )
    return after


def transition_ticket(
    conn: Conn,
    user: Principal,
    actor: Actor,
    ticket_id: int,
    to: str,
    *,
    note: str | None = None,
    now: datetime,
) -> TicketOut:
    """Move the ticket along its state machine; a refused move is a 409 with
    the reason (``TicketError``)."""
    user.need("ticket.work")
    row = _load(conn, user, ticket_id, now, lock=True)
    storage.transition(conn, ticket_id, to, actor=actor.username, now=now, note=note)
    after = _out(_load(conn, user, ticket_id, now))
    audit.record(
        conn,
        actor,
        "ticket.transition",
        target_type="ticket",
        target_id=ticket_id,
        before=_brief(row),
        after=_brief(after),
        detail=note,
    )
    return after


def comment_ticket(
    conn: Conn, user: Principal, actor: Actor, ticket_id: int, text: str, *, now: datetime
) -> TicketEventOut:
    """Add a comment to the ticket's timeline; an empty one is a 400."""
    user.need("ticket.comment")
    _load(conn, user, ticket_id, now)
    storage.comment(conn, ticket_id, text, actor=actor.username, now=now)
    out = storage.last_comment(conn, ticket_id)
    audit.record(
        conn,
        actor,
        "ticket.comment",
        target_type="ticket",
        target_id=ticket_id,
        after={"event_id": out.id, "text": text},
    )
    return out


def add_ticket_cost(
    conn: Conn, user: Principal, actor: Actor, ticket_id: int, cost: CostIn, *, now: datetime
) -> CostOut:
    """Record a part or an expense on one of the Điều 11 budget lines; a
    cost PostgreSQL refuses is a 400 (``TicketValueError``)."""
    user.need("ticket.cost")
    _load(conn, user, ticket_id, now)
    storage_costs.add_cost(
        conn,
        ticket_id,
        category=cost.category,
        description=cost.description,
        amount_vnd=Decimal(cost.amount_vnd),
        quantity=cost.quantity,
        actor=actor.username,
        now=now,
    )
    out = storage_costs.last_cost(conn, ticket_id)
    audit.record(
        conn,
        actor,
        "ticket.cost",
        target_type="ticket",
        target_id=ticket_id,
        after=out,
    )
    return out


def list_ticket_costs(
    conn: Conn,
    user: Principal,
    ticket_id: int,
    paging: ListParams,
    *,
    now: datetime,
    category: str | None = None,
) -> CostPage:
    """One page of the ticket's costs, with the totals of all of them."""
    user.need("ticket.read")
    _load(conn, user, ticket_id, now)
    page = storage_costs.cost_page(conn, ticket_id, paging, category=category)
    totals = storage_costs.totals(conn, ticket_id)
    return CostPage(
        items=page.items,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        totals_by_category=totals,
        total_vnd=sum(totals.values()),
    )
