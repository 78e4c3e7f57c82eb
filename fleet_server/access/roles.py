"""Roles and what each may do. Reads are still narrowed to the caller's
sites (``scope``)."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "operator", "technician", "border_guard", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)

#: What each role may do.
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
            "emergency_order.write",
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

#: Every capability some role has.
ALL_CAPABILITIES: frozenset[str] = frozenset().union(*CAPABILITIES.values())


def is_province_wide(role: str, *, provincial_department: bool) -> bool:
    """Admins, and accounts of the provincial department other than Border
    Guard ones, see every site."""
    return role == "admin" or (provincial_department and role != "border_guard")
