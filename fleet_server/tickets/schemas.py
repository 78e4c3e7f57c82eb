"""The tickets API's request and response models (``/api/v1/tickets``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.pagination import Page
from fleet_server.tickets.models import CostCategory, Kind, Priority, TicketState

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
BOARD_ID = DEVICE_ID_PATTERN


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
