"""Who is asking, what their role lets them do, and which sites they see.

Every query the API runs is narrowed on the server by :meth:`Principal.site_clause`;
an object outside the caller's scope is answered with 404, exactly as if it did
not exist (``problems.not_found``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

ROLES = ("admin", "operator", "technician", "border_guard", "viewer")

#: What each role may do. Reads are still narrowed to the caller's sites.
CAPABILITIES: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            "incident.read",
            "incident.write",
            "incident.comment",
            "ticket.read",
            "ticket.write",
            "ticket.work",
            "ticket.comment",
            "ticket.cost",
            "maintenance.read",
            "maintenance.write",
            "route.read",
            "route.write",
            "user.admin",
            "audit.read",
            "org.write",
            "command.send",
            "board.provision",
            "content.read",
            "content.approve",
            "broadcast_window.write",
            "compliance.read",
            "report.read",
        }
    ),
    # The organisation's duty desk: its own boards' incidents, tickets, commands,
    # and provisioning boards at its own sites.
    "operator": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            "incident.read",
            "incident.write",
            "incident.comment",
            "ticket.read",
            "ticket.write",
            "ticket.work",
            "ticket.comment",
            "ticket.cost",
            "maintenance.read",
            "maintenance.write",
            "route.read",
            "command.send",
            "board.provision",
            "content.read",
            "broadcast_window.write",
            "compliance.read",
            "report.read",
        }
    ),
    # Drives out to fix things: their tickets, board details, comments, costs.
    "technician": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            "incident.read",
            "incident.comment",
            "ticket.read",
            "ticket.work",
            "ticket.comment",
            "ticket.cost",
            "maintenance.read",
        }
    ),
    # Camera status and camera incidents at their sites, nothing else (Điều 13.1.b).
    "border_guard": frozenset({"camera.read", "incident.read", "incident.comment"}),
    "viewer": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            "incident.read",
            "ticket.read",
            "maintenance.read",
            "route.read",
            "content.read",
            "compliance.read",
            "report.read",
        }
    ),
}


def is_province_wide(role: str, *, provincial_department: bool) -> bool:
    """Admins, and accounts of the provincial department other than Border
    Guard ones, see every site."""
    return role == "admin" or (provincial_department and role != "border_guard")


#: Every dependency that lets a request through only with some capabilities
#: (``deps.require``, the console's ``page_for`` and ``form_for``) and what it
#: checks: the tests walk the app's routes with it against docs/api.md.
_CHECKS: dict[Callable[..., Any], frozenset[str]] = {}
Check = TypeVar("Check", bound=Callable[..., Any])


def checks(dependency: Check, *capabilities: str) -> Check:
    """Register ``dependency`` as the check of ``capabilities`` (all needed)."""
    unknown = set(capabilities) - set().union(*CAPABILITIES.values())
    if unknown:
        raise ValueError(f"unknown capabilities: {sorted(unknown)}")
    _CHECKS[dependency] = frozenset(capabilities)
    return dependency


def required_by(dependency: Callable[..., Any]) -> frozenset[str] | None:
    """The capabilities ``dependency`` checks, None if it checks none."""
    return _CHECKS.get(dependency)


#: Incidents a Border Guard account sees: the camera rules only.
CAMERA_RULE_PATTERN = "camera%"


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    username: str
    full_name: str
    role: str
    organisation_id: int | None
    team: str | None
    language: str
    #: Sites given to this account one by one (user_sites).
    site_ids: tuple[int, ...] = ()
    #: Admins and the provincial department see every site.
    province_wide: bool = False
    via: Literal["bearer", "session"] = "bearer"
    token_id: int = 0
    csrf_token: str | None = None
    capabilities: frozenset[str] = field(default_factory=frozenset)

    def can(self, capability: str) -> bool:
        return capability in self.capabilities

    @property
    def actor(self) -> str:
        return self.username

    def site_clause(self, site_id_sql: str = "s.id") -> tuple[str, list[Any]]:
        """A SQL condition on ``site_id_sql`` that is true for the sites this
        principal sees, with its parameters (``%s`` placeholders)."""
        if self.province_wide:
            return "TRUE", []
        if self.role == "border_guard":
            return (
                f"({site_id_sql} = ANY(%s) OR {site_id_sql} IN"
                " (SELECT id FROM sites WHERE camera_guard_organisation_id = %s))",
                [list(self.site_ids), self.organisation_id],
            )
        parts = [f"{site_id_sql} = ANY(%s)"]
        params: list[Any] = [list(self.site_ids)]
        if self.organisation_id is not None:
            parts.append(f"{site_id_sql} IN (SELECT id FROM sites WHERE organisation_id = %s)")
            params.append(self.organisation_id)
        if self.role == "technician" and self.team:
            parts.append(f"{site_id_sql} IN (SELECT site_id FROM site_teams WHERE team = %s)")
            params.append(self.team)
        return "(" + " OR ".join(parts) + ")", params

    def incident_clause(self, alias: str = "i") -> tuple[str, list[Any]]:
        """Incidents this principal sees: by site, and for the Border Guard
        only the camera rules."""
        clause, params = self.site_clause(f"{alias}.site_id")
        if self.province_wide:
            clause = "TRUE"
        if self.role == "border_guard":
            clause = f"{clause} AND {alias}.rule LIKE %s"
            params = [*params, CAMERA_RULE_PATTERN]
        return clause, params

    def ticket_clause(self, alias: str = "t") -> tuple[str, list[Any]]:
        """Tickets this principal sees. Technicians: assigned to them or to
        their team, at a site they see (a ticket somehow given to them
        elsewhere stays out of reach); others: by site."""
        sites, params = self.site_clause(f"{alias}.site_id")
        if self.role == "technician":
            return (
                f"({alias}.assignee = %s OR ({alias}.team IS NOT NULL AND {alias}.team = %s))"
                f" AND {sites}",
                [self.username, self.team, *params],
            )
        return sites, params
