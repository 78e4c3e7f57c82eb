"""/api/v1 tickets: the maintenance queue (Điều 11): create, assign, move
through the state machine, comment, record costs by budget line.

Operators and admins see the tickets of their sites; technicians only those
assigned to them or to their team (``Principal.ticket_clause``). The
functions above the routes are what the web console calls."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from psycopg.rows import dict_row
from pydantic import BaseModel, Field, model_validator

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.roles import CAPABILITIES, is_province_wide
from fleet_server.access.storage import incidents_condition, sites_condition, tickets_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.api.problems import Problem
from fleet_server.errors import Conflict, Forbidden, Invalid, NotFound
from fleet_server.tickets import storage
from fleet_server.tickets.models import (
    TRANSITIONS,
    CostCategory,
    Kind,
    Priority,
    TicketError,
    TicketState,
)

router = APIRouter(tags=["tickets"])

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
BOARD_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
STATES: tuple[str, ...] = tuple(TRANSITIONS)
COST_CATEGORIES: tuple[str, ...] = ("power", "repair", "maintenance", "internet", "other")

Reader = Annotated[Principal, Depends(require("ticket.read"))]
Writer = Annotated[Principal, Depends(require("ticket.write"))]
Worker = Annotated[Principal, Depends(require("ticket.work"))]
Commenter = Annotated[Principal, Depends(require("ticket.comment"))]
Coster = Annotated[Principal, Depends(require("ticket.cost"))]
TicketId = Annotated[int, Path(ge=1, le=MAX_ID, description="ticket id")]


# -- models ---------------------------------------------------------------------


class TicketOut(BaseModel):
    id: int
    site_id: int
    site_code: str
    site_name: str
    site_name_en: str | None
    board_id: str | None
    kind: Kind
    priority: Priority
    state: TicketState
    title: str
    assignee: str | None
    team: str | None
    due_at: datetime
    #: Past its due time and neither resolved nor closed.
    overdue: bool
    source_key: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    closed_at: datetime | None


class TicketEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    kind: str
    from_state: str | None
    to_state: str | None
    note: str | None


class CostOut(BaseModel):
    id: int
    ticket_id: int
    category: CostCategory
    description: str
    quantity: float
    amount_vnd: int
    #: quantity x amount, rounded to the dong.
    total_vnd: int
    recorded_by: str
    recorded_at: datetime


class LinkedIncident(BaseModel):
    id: int
    rule: str
    severity: str
    state: str
    title: str
    board_id: str | None
    opened_at: datetime
    resolved_at: datetime | None


class TicketDetail(TicketOut):
    description: str
    closing_note: str | None
    events: list[TicketEventOut]
    costs: list[CostOut]
    #: Totals per Điều 11 budget line (every category present, 0 if none).
    cost_totals: dict[str, int]
    cost_total_vnd: int
    incidents: list[LinkedIncident]


class Assignee(BaseModel):
    """An account the ticket may be given to."""

    username: str
    full_name: str
    role: str
    team: str | None
    #: Why they are offered: ``team`` (a technician of the ticket's team),
    #: ``site`` (a technician whose scope includes the site), ``organisation``
    #: (an operator of the site's organisation, or given the site), ``self``
    #: (a technician asking: they may only take it themselves).
    reason: Literal["team", "site", "organisation", "self"]
    #: Unfinished tickets assigned to them now (how busy they are).
    open_tickets: int


class CostPage(Page[CostOut]):
    """One page of a ticket's costs, with the totals of all of them."""

    totals_by_category: dict[str, int]
    total_vnd: int


class TicketCreate(BaseModel):
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    board_id: str | None = Field(default=None, pattern=BOARD_ID)
    kind: Kind = "corrective"
    priority: Priority = "normal"
    title: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    description: str = Field(default="", max_length=5000, pattern=NO_NUL)
    incident_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        default_factory=list, max_length=50
    )

    @model_validator(mode="after")
    def _where(self) -> TicketCreate:
        if self.site_id is None and self.board_id is None:
            raise ValueError("give site_id or board_id: where is the work to be done?")
        if not self.title.strip():
            raise ValueError("title must not be blank")
        return self


class AssignIn(BaseModel):
    assignee: str = Field(min_length=1, max_length=64, pattern=NO_NUL)


class TransitionIn(BaseModel):
    to: TicketState
    note: str | None = Field(default=None, max_length=5000, pattern=NO_NUL)


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=5000, pattern=NO_NUL)


class CostIn(BaseModel):
    category: CostCategory
    description: str = Field(min_length=1, max_length=500, pattern=NO_NUL)
    quantity: Decimal = Field(default=Decimal(1), gt=0, max_digits=12, decimal_places=2)
    amount_vnd: int = Field(ge=0, lt=10**14)


# -- data functions (the console calls these too) ---------------------------------------

_SELECT = """
    SELECT t.id, t.site_id, s.code AS site_code, s.name AS site_name,
           s.name_en AS site_name_en, t.board_id, t.kind,
           t.priority::ticket_priority_order AS priority,
           t.state::ticket_state_order AS state,
           t.title, t.assignee, t.team, t.due_at,
           (t.due_at < %s AND t.state NOT IN ('resolved', 'closed')) AS overdue,
           t.source_key, t.created_by, t.created_at, t.updated_at, t.resolved_at, t.closed_at
    FROM tickets t JOIN sites s ON s.id = t.site_id
"""
SORTABLE = ("id", "created_at", "updated_at", "due_at", "priority", "state")


def _need(user: Principal, capability: str) -> None:
    if not user.can(capability):
        raise Forbidden(f"the {user.role} role may not do this ({capability})")


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
    state: Sequence[str] | None = None,
    site_id: int | None = None,
    board_id: str | None = None,
    assignee: str | None = None,
    team: str | None = None,
    kind: str | None = None,
    priority: str | None = None,
    overdue: bool | None = None,
) -> Page[TicketOut]:
    """The tickets the caller sees, filtered; ``state`` may list several states."""
    _need(user, "ticket.read")
    clause, scope_params = tickets_condition(user.scope, "t.site_id", "t.assignee", "t.team")
    where = [clause]
    params: list[Any] = [now, *scope_params]
    add_equal(
        where,
        params,
        (
            ("t.site_id", site_id),
            ("t.board_id", board_id),
            ("t.assignee", assignee),
            ("t.team", team),
            ("t.kind", kind),
            ("t.priority", priority),
        ),
    )
    states = parse_states(state)
    if states:
        where.append("t.state = ANY(%s)")
        params.append(states)
    if overdue is not None:
        where.append(
            f"{'' if overdue else 'NOT '}(t.due_at < %s AND t.state NOT IN ('resolved', 'closed'))"
        )
        params.append(now)
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=SORTABLE,
        default="created_at DESC",
        tiebreak="id DESC",
        model=TicketOut,
    )


def _load(conn: Conn, user: Principal, ticket_id: int, now: datetime, *, lock: bool = False) -> Any:
    """The ticket as a row dict (with description and closing note), or 404
    when it does not exist or the caller may not see it."""
    clause, params = tickets_condition(user.scope, "t.site_id", "t.assignee", "t.team")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"""SELECT x.*, t2.description, t2.closing_note
                FROM ({_SELECT} WHERE t.id = %s AND {clause}) x
                JOIN tickets t2 ON t2.id = x.id {"FOR UPDATE OF t2" if lock else ""}""",
            [now, ticket_id, *params],
        ).fetchone()
    if row is None:
        raise NotFound("ticket", ticket_id)
    return row


def _out(row: dict[str, Any]) -> TicketOut:
    return TicketOut.model_validate({k: row[k] for k in TicketOut.model_fields})


_COST_SELECT = """
    SELECT id, ticket_id, category, description, quantity, amount_vnd,
           round(quantity * amount_vnd) AS total_vnd, recorded_by, recorded_at
    FROM ticket_costs
"""


def _totals(conn: Conn, ticket_id: int) -> dict[str, int]:
    """Per budget line, the sum of the rounded line totals (so they add up)."""
    totals = dict.fromkeys(COST_CATEGORIES, 0)
    for category, amount in conn.execute(
        "SELECT category, sum(round(quantity * amount_vnd)) FROM ticket_costs"
        " WHERE ticket_id = %s GROUP BY category",
        (ticket_id,),
    ):
        totals[str(category)] = int(amount)
    return totals


def get_ticket(conn: Conn, user: Principal, ticket_id: int, *, now: datetime) -> TicketDetail:
    """One ticket with its timeline, costs (and totals per budget line) and
    the incidents it was opened for."""
    _need(user, "ticket.read")
    row = _load(conn, user, ticket_id, now)
    with conn.cursor(row_factory=dict_row) as cur:
        events = cur.execute(
            "SELECT id, at, actor, kind, from_state, to_state, note FROM ticket_events"
            " WHERE ticket_id = %s ORDER BY at, id",
            (ticket_id,),
        ).fetchall()
        costs = cur.execute(
            f"{_COST_SELECT} WHERE ticket_id = %s ORDER BY recorded_at, id", (ticket_id,)
        ).fetchall()
        incidents = cur.execute(
            "SELECT i.id, i.rule, i.severity, i.state, i.title, i.board_id, i.opened_at,"
            " i.resolved_at FROM ticket_incidents ti JOIN incidents i ON i.id = ti.incident_id"
            " WHERE ti.ticket_id = %s ORDER BY i.opened_at, i.id",
            (ticket_id,),
        ).fetchall()
    totals = _totals(conn, ticket_id)
    return TicketDetail(
        **row,
        events=[TicketEventOut.model_validate(e) for e in events],
        costs=[CostOut.model_validate(c) for c in costs],
        cost_totals=totals,
        cost_total_vnd=sum(totals.values()),
        incidents=[LinkedIncident.model_validate(i) for i in incidents],
    )


def tickets_of_incident(
    conn: Conn, user: Principal, incident_id: int, *, now: datetime
) -> list[TicketOut]:
    """The tickets the caller sees that were opened for an incident, newest first."""
    _need(user, "ticket.read")
    clause, params = tickets_condition(user.scope, "t.site_id", "t.assignee", "t.team")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_SELECT} WHERE t.id IN (SELECT ticket_id FROM ticket_incidents"
            f" WHERE incident_id = %s) AND {clause} ORDER BY t.created_at DESC, t.id DESC LIMIT 50",
            [now, incident_id, *params],
        ).fetchall()
    return [TicketOut.model_validate(r) for r in rows]


#: Who may be offered a ticket, besides the rule that the role may work
#: tickets at all (``ticket.work``): technicians whose scope includes the site
#: (their organisation's sites, sites given to them, their team's sites, the
#: whole province for the provincial department; the ticket's team first), and
#: operators of the site's organisation or given the site. Administrators may
#: be assigned through the API but are not offered. ``may_see_site`` is the
#: rule assigning enforces; this query offers no one it would refuse.
_ASSIGNEES = """
    WITH tk AS (
        SELECT t.team, t.site_id, s.organisation_id
        FROM tickets t JOIN sites s ON s.id = t.site_id WHERE t.id = %(ticket)s
    ), offered AS (
        SELECT u.username, u.full_name, u.role, u.team,
               CASE WHEN u.role = 'operator' THEN 'organisation'
                    WHEN u.team IS NOT NULL AND u.team = tk.team THEN 'team'
                    ELSE 'site' END AS reason
        FROM users u CROSS JOIN tk
        LEFT JOIN organisations o ON o.id = u.organisation_id
        WHERE u.active AND u.role = ANY(%(roles)s) AND (
            u.organisation_id = tk.organisation_id
            OR EXISTS (SELECT 1 FROM user_sites us
                       WHERE us.user_id = u.id AND us.site_id = tk.site_id)
            OR (u.role = 'technician' AND (
                EXISTS (SELECT 1 FROM site_teams st
                        WHERE st.site_id = tk.site_id AND st.team = u.team)
                OR coalesce(o.kind = 'provincial_department', false)))
        )
    )
    SELECT f.*, (SELECT count(*) FROM tickets x WHERE x.assignee = f.username
                   AND x.state NOT IN ('resolved', 'closed')) AS open_tickets
    FROM offered f
    ORDER BY CASE f.reason WHEN 'team' THEN 0 WHEN 'site' THEN 1 ELSE 2 END,
             f.full_name, f.username
"""
#: The roles offered (each may work tickets: ``CAPABILITIES``).
ASSIGNEE_ROLES = ("technician", "operator")


def assignable_users(
    conn: Conn, user: Principal, ticket_id: int, *, now: datetime
) -> list[Assignee]:
    """Active accounts the ticket may be given to and that have to do with
    it, the ticket's team first, then other technicians of the site, then
    the operators. A technician is offered only themselves. 404 when the
    caller does not see the ticket."""
    _need(user, "ticket.work")
    _load(conn, user, ticket_id, now)
    if user.role == "technician":
        row = conn.execute(
            "SELECT full_name, team, (SELECT count(*) FROM tickets x WHERE x.assignee = %s"
            " AND x.state NOT IN ('resolved', 'closed')) FROM users WHERE id = %s AND active",
            (user.username, user.user_id),
        ).fetchone()
        if row is None:
            return []
        return [
            Assignee(
                username=user.username,
                full_name=str(row[0]),
                role=user.role,
                team=row[1],
                reason="self",
                open_tickets=int(row[2]),
            )
        ]
    roles = [r for r in ASSIGNEE_ROLES if "ticket.work" in CAPABILITIES.get(r, frozenset())]
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(_ASSIGNEES, {"ticket": ticket_id, "roles": roles}).fetchall()
    return [Assignee.model_validate(r) for r in rows]


def create_ticket(
    conn: Conn, user: Principal, request: Request, body: TicketCreate, *, now: datetime
) -> TicketDetail:
    """Open a ticket at a site or board the caller runs, linked to incidents
    of that site if given."""
    _need(user, "ticket.write")
    clause, params = sites_condition(user.scope, "s.id")
    if body.board_id is not None:
        found = conn.execute(
            f"SELECT b.site_id FROM boards b JOIN sites s ON s.id = b.site_id"
            f" WHERE b.id = %s AND {clause}",
            [body.board_id, *params],
        ).fetchone()
        if found is None:
            raise NotFound("board", body.board_id)
        if body.site_id is not None and body.site_id != found[0]:
            raise Invalid(
                f"board_id: board {body.board_id} is not at site {body.site_id}",
                errors=[{"field": "board_id", "message": "not at that site"}],
            )
        site_id = int(found[0])
    else:
        assert body.site_id is not None
        found = conn.execute(
            f"SELECT s.id FROM sites s WHERE s.id = %s AND {clause}", [body.site_id, *params]
        ).fetchone()
        if found is None:
            raise NotFound("site", body.site_id)
        site_id = body.site_id
    incident_ids = list(dict.fromkeys(body.incident_ids))
    if incident_ids:
        iclause, iparams = incidents_condition(user.scope, "i.site_id", "i.rule")
        seen = {
            int(r[0]): r[1]
            for r in conn.execute(
                f"SELECT i.id, i.site_id FROM incidents i WHERE i.id = ANY(%s) AND {iclause}",
                [incident_ids, *iparams],
            )
        }
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
        actor=user.actor,
        now=now,
    )
    for incident_id in incident_ids:
        storage.link_incident(conn, ticket.id, incident_id, actor=user.actor, now=now)
    detail = get_ticket(conn, user, ticket.id, now=now)
    record(
        conn,
        user,
        request,
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
    """Whether the account's scope (``Principal.site_clause``, as if it
    signed in now) includes the site: a ticket is only given to people who
    may see where it is."""
    row = conn.execute(
        """SELECT u.id, u.role, u.organisation_id, u.team,
                  coalesce(o.kind = 'provincial_department', false),
                  coalesce((SELECT array_agg(site_id) FROM user_sites WHERE user_id = u.id),
                           '{}')
           FROM users u LEFT JOIN organisations o ON o.id = u.organisation_id
           WHERE u.username = %s AND u.active""",
        (username,),
    ).fetchone()
    if row is None:
        return False
    role = str(row[1])
    account = Principal(
        user_id=int(row[0]),
        username=username,
        full_name="",
        role=role,
        organisation_id=row[2],
        team=row[3],
        language="vi",
        site_ids=tuple(int(s) for s in row[5]),
        province_wide=is_province_wide(role, provincial_department=bool(row[4])),
    )
    clause, params = sites_condition(account.scope, "s.id")
    seen = conn.execute(f"SELECT 1 FROM sites s WHERE s.id = %s AND {clause}", [site_id, *params])
    return seen.fetchone() is not None


def assign_ticket(
    conn: Conn,
    user: Principal,
    request: Request,
    ticket_id: int,
    assignee: str,
    *,
    now: datetime,
) -> TicketOut:
    """Give the ticket to an active account that works on tickets; a
    technician may only take it themselves. An open ticket becomes assigned."""
    _need(user, "ticket.work")
    row = _load(conn, user, ticket_id, now, lock=True)
    name = assignee.strip().lower()
    if user.role == "technician" and name != user.username:
        raise Forbidden("a technician may only assign a ticket to themselves")
    account = conn.execute("SELECT role, active FROM users WHERE username = %s", (name,)).fetchone()
    if account is None or not account[1]:
        raise Invalid(
            f"assignee: there is no active user {name!r}",
            errors=[{"field": "assignee", "message": "no such active user"}],
        )
    if "ticket.work" not in CAPABILITIES.get(str(account[0]), frozenset()):
        raise Invalid(
            f"assignee: user {name!r} is a {account[0]} and cannot work on tickets",
            errors=[{"field": "assignee", "message": "this role cannot work on tickets"}],
        )
    if not may_see_site(conn, name, int(row["site_id"])):
        raise Problem(
            422,
            f"assignee: user {name!r} may not see this ticket's site ({row['site_code']}):"
            " give it to someone whose organisation, sites or team include it",
            kind="assignee-out-of-scope",
            errors=[{"field": "assignee", "message": "may not see the ticket's site"}],
        )
    try:
        storage.assign(conn, ticket_id, name, actor=user.actor, now=now)
    except TicketError as exc:
        raise Conflict(str(exc)) from None
    after = _out(_load(conn, user, ticket_id, now))
    record(
        conn,
        user,
        request,
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
    request: Request,
    ticket_id: int,
    to: str,
    note: str | None = None,
    *,
    now: datetime,
) -> TicketOut:
    """Move the ticket along its state machine; a refused move is a 409 with the reason."""
    _need(user, "ticket.work")
    row = _load(conn, user, ticket_id, now, lock=True)
    try:
        storage.transition(conn, ticket_id, to, actor=user.actor, now=now, note=note)
    except TicketError as exc:
        raise Conflict(str(exc)) from None
    after = _out(_load(conn, user, ticket_id, now))
    record(
        conn,
        user,
        request,
        "ticket.transition",
        target_type="ticket",
        target_id=ticket_id,
        before=_brief(row),
        after=_brief(after),
        detail=note,
    )
    return after


def comment_ticket(
    conn: Conn, user: Principal, request: Request, ticket_id: int, text: str, *, now: datetime
) -> TicketEventOut:
    _need(user, "ticket.comment")
    _load(conn, user, ticket_id, now)
    try:
        storage.comment(conn, ticket_id, text, actor=user.actor, now=now)
    except TicketError as exc:
        raise Invalid(f"text: {exc}") from None
    with conn.cursor(row_factory=dict_row) as cur:
        event = cur.execute(
            "SELECT id, at, actor, kind, from_state, to_state, note FROM ticket_events"
            " WHERE ticket_id = %s AND kind = 'comment' ORDER BY id DESC LIMIT 1",
            (ticket_id,),
        ).fetchone()
    out = TicketEventOut.model_validate(event)
    record(
        conn,
        user,
        request,
        "ticket.comment",
        target_type="ticket",
        target_id=ticket_id,
        after={"event_id": out.id, "text": text},
    )
    return out


def add_ticket_cost(
    conn: Conn, user: Principal, request: Request, ticket_id: int, cost: CostIn, *, now: datetime
) -> CostOut:
    """Record a part or an expense on one of the Điều 11 budget lines."""
    _need(user, "ticket.cost")
    _load(conn, user, ticket_id, now)
    try:
        storage.add_cost(
            conn,
            ticket_id,
            category=cost.category,
            description=cost.description,
            amount_vnd=Decimal(cost.amount_vnd),
            quantity=cost.quantity,
            actor=user.actor,
            now=now,
        )
    except TicketError as exc:
        raise Invalid(str(exc)) from None
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_COST_SELECT} WHERE ticket_id = %s ORDER BY id DESC LIMIT 1", (ticket_id,)
        ).fetchone()
    out = CostOut.model_validate(row)
    record(
        conn,
        user,
        request,
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
    _need(user, "ticket.read")
    _load(conn, user, ticket_id, now)
    where: list[str] = ["ticket_id = %s"]
    params: list[Any] = [ticket_id]
    if category is not None:
        where.append("category = %s")
        params.append(category)
    page = fetch_page(
        conn,
        f"{_COST_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "recorded_at", "category", "amount_vnd", "total_vnd"),
        default="recorded_at",
        tiebreak="id",
        model=CostOut,
    )
    totals = _totals(conn, ticket_id)
    return CostPage(
        items=page.items,
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        totals_by_category=totals,
        total_vnd=sum(totals.values()),
    )


# -- routes -------------------------------------------------------------------------


@router.get("/tickets", summary="tickets the caller sees, filtered, sorted and paged")
def tickets_list(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
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
) -> Page[TicketOut]:
    """Sort by one of: id, created_at, updated_at, due_at, priority (urgent
    first), state (in lifecycle order). Default: newest first."""
    return list_tickets(
        conn,
        user,
        paging,
        now=now,
        state=state,
        site_id=site_id,
        board_id=board_id,
        assignee=assignee,
        team=team,
        kind=kind,
        priority=priority,
        overdue=overdue,
    )


@router.post(
    "/tickets",
    status_code=201,
    summary="open a ticket at a site or board",
    responses={404: {"description": "site, board or incident not found"}},
)
def tickets_create(
    request: Request, conn: Db, now: Now, user: Writer, body: TicketCreate
) -> TicketDetail:
    return create_ticket(conn, user, request, body, now=now)


@router.get("/tickets/{ticket_id}", summary="a ticket with its timeline, costs and incidents")
def tickets_get(conn: Db, now: Now, user: Reader, ticket_id: TicketId) -> TicketDetail:
    return get_ticket(conn, user, ticket_id, now=now)


@router.get(
    "/tickets/{ticket_id}/assignees",
    summary="who the ticket may be given to: the team's and the site's technicians, then operators",
)
def tickets_assignees(conn: Db, now: Now, user: Worker, ticket_id: TicketId) -> list[Assignee]:
    """Active accounts that may work the ticket and have to do with it
    (technicians: only themselves), with their unfinished tickets."""
    return assignable_users(conn, user, ticket_id, now=now)


@router.post(
    "/tickets/{ticket_id}/assign",
    summary="assign the ticket to an active user (technicians: only to themselves)",
    responses={409: {"description": "the ticket is resolved or closed"}},
)
def tickets_assign(
    request: Request, conn: Db, now: Now, user: Worker, ticket_id: TicketId, body: AssignIn
) -> TicketOut:
    return assign_ticket(conn, user, request, ticket_id, body.assignee, now=now)


@router.post(
    "/tickets/{ticket_id}/transition",
    summary="move the ticket to another state",
    responses={409: {"description": "the state machine refuses the move; detail says why"}},
)
def tickets_transition(
    request: Request, conn: Db, now: Now, user: Worker, ticket_id: TicketId, body: TransitionIn
) -> TicketOut:
    return transition_ticket(conn, user, request, ticket_id, body.to, body.note, now=now)


@router.post("/tickets/{ticket_id}/comments", status_code=201, summary="comment on a ticket")
def tickets_comment(
    request: Request, conn: Db, now: Now, user: Commenter, ticket_id: TicketId, body: CommentIn
) -> TicketEventOut:
    return comment_ticket(conn, user, request, ticket_id, body.text, now=now)


@router.post(
    "/tickets/{ticket_id}/costs",
    status_code=201,
    summary="record a cost on a Điều 11 budget line (power, repair, maintenance, internet, other)",
)
def tickets_add_cost(
    request: Request, conn: Db, now: Now, user: Coster, ticket_id: TicketId, body: CostIn
) -> CostOut:
    return add_ticket_cost(conn, user, request, ticket_id, body, now=now)


@router.get("/tickets/{ticket_id}/costs", summary="a ticket's costs with totals per budget line")
def tickets_costs(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    ticket_id: TicketId,
    category: CostCategory | None = None,
) -> CostPage:
    return list_ticket_costs(conn, user, ticket_id, paging, now=now, category=category)
