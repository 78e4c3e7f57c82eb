"""Ticket rules (no SQL): the state machine, the SLA, the budget lines, who
may be offered a ticket, and the errors a refused change raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, get_args

from fleet_server.errors import Conflict, Invalid

TicketState = Literal["open", "assigned", "in_progress", "on_hold", "resolved", "closed"]
Priority = Literal["urgent", "high", "normal", "low"]
Kind = Literal["corrective", "preventive", "inspection"]
CostCategory = Literal["power", "repair", "maintenance", "internet", "other"]

#: Which state may follow which. ``closed`` is final; closing needs a note.
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"assigned", "in_progress", "on_hold", "closed"}),
    "assigned": frozenset({"open", "in_progress", "on_hold"}),
    "in_progress": frozenset({"assigned", "on_hold", "resolved"}),
    "on_hold": frozenset({"open", "assigned", "in_progress"}),
    "resolved": frozenset({"in_progress", "closed"}),
    "closed": frozenset(),
}


#: Every state, in lifecycle order (the order of ``TRANSITIONS``).
STATES: tuple[str, ...] = tuple(TRANSITIONS)
#: Every priority, urgent first.
PRIORITIES: tuple[str, ...] = get_args(Priority)
#: The Điều 11 budget lines a cost is recorded on.
COST_CATEGORIES: tuple[str, ...] = ("power", "repair", "maintenance", "internet", "other")
#: The roles offered as assignees (each may work tickets: ``CAPABILITIES``).
ASSIGNEE_ROLES = ("technician", "operator")


class TicketError(Conflict):
    """A ticket change that is not allowed, with the reason: the state
    machine refuses it (the API answers 409)."""


class TicketValueError(Invalid):
    """A value a ticket cannot take, with the reason: an empty comment, a
    cost PostgreSQL refuses (the API answers 400)."""


class AssigneeOutOfScope(Invalid):
    """The account a ticket is given to may not see the ticket's site (422)."""

    status = 422
    kind = "assignee-out-of-scope"


def check_transition(current: str, target: str, note: str | None) -> None:
    if target not in TRANSITIONS:
        raise TicketError(f"unknown ticket state {target!r}")
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (closed is final)"
        raise TicketError(f"a ticket cannot go from {current} to {target}; allowed: {allowed}")
    if target == "closed" and not (note and note.strip()):
        raise TicketError("closing a ticket needs a note saying what was done")


@dataclass(frozen=True, slots=True)
class Sla:
    """Time to resolve, per priority."""

    hours: dict[str, float] = field(
        default_factory=lambda: {"urgent": 4, "high": 24, "normal": 72, "low": 168}
    )

    def due(self, priority: str, opened_at: datetime) -> datetime:
        return opened_at + timedelta(hours=self.hours[priority])


@dataclass(frozen=True, slots=True)
class AutoTicketRule:
    """An incident that needs a site visit once it has lasted ``after_s``."""

    after_s: float
    priority: Priority
    title: str


#: Defaults (configurable): camera down > 30 min, display dark > 1 h, board
#: lost > 2 h, battery failing (low) > 15 min, whole site down > 1 h.
AUTO_TICKETS: dict[str, AutoTicketRule] = {
    "camera_unreachable": AutoTicketRule(1800, "high", "Kiểm tra camera / Check camera"),
    "display_dark": AutoTicketRule(3600, "high", "Kiểm tra màn hình / Check display"),
    "board_lost": AutoTicketRule(7200, "urgent", "Bảng mất kết nối / Board unreachable"),
    "battery_low": AutoTicketRule(900, "high", "Kiểm tra UPS / Check UPS battery"),
    "site_outage": AutoTicketRule(3600, "urgent", "Toàn điểm mất liên lạc / Whole site down"),
}


@dataclass(frozen=True, slots=True)
class TicketFilter:
    """Which tickets a list shows; every field is optional (None: any)."""

    #: Any of these states (validated by ``service.parse_states``).
    states: tuple[str, ...] = ()
    site_id: int | None = None
    board_id: str | None = None
    assignee: str | None = None
    team: str | None = None
    kind: str | None = None
    priority: str | None = None
    #: True: past due and neither resolved nor closed; False: the others.
    overdue: bool | None = None
