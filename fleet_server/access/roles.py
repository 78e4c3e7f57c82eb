"""Roles and what each may do. Reads are still narrowed to the caller's
sites (``scope``)."""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["admin", "operator", "technician", "border_guard", "viewer", "supplier"]
ROLES: tuple[Role, ...] = get_args(Role)

#: What each role may do.
CAPABILITIES: dict[str, frozenset[str]] = {
    "admin": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            # a board's journal and diagnostics (logs on request, docs/agent.md)
            "diagnostics.read",
            "incident.read",
            "incident.write",
            "incident.comment",
            "incident.report",
            "ticket.read",
            "ticket.write",
            "ticket.work",
            "ticket.comment",
            "ticket.cost",
            "maintenance.read",
            "maintenance.write",
            "route.read",
            "route.write",
            # the notices queued, sent and failed (the console's notices view)
            "notice.read",
            "user.admin",
            "audit.read",
            "org.write",
            "command.send",
            # the kill switch (Điều 12.2): blank a board / stop its content, resume
            "board.halt",
            "board.provision",
            "content.read",
            "content.approve",
            "content.submit",
            "content.appraise",
            "broadcast_window.write",
            "compliance.read",
            "report.read",
            "report.budget",
            "emergency_order.write",
            # the engine's rule thresholds per organisation, site, board
            "rule.read",
            "rule.write",
            # agent releases and their rollouts to the boards (docs/updates.md)
            "release.manage",
        }
    ),
    # The organisation's duty desk: its own boards' incidents, tickets, commands,
    # and provisioning boards at its own sites.
    "operator": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            "diagnostics.read",
            "incident.read",
            "incident.write",
            "incident.comment",
            "incident.report",
            "ticket.read",
            "ticket.write",
            "ticket.work",
            "ticket.comment",
            "ticket.cost",
            "maintenance.read",
            "maintenance.write",
            "route.read",
            "notice.read",
            "command.send",
            "board.halt",
            "board.provision",
            "content.read",
            # a district's own content (Điều 10.1.b); appraisal: the
            # Department's province-wide operators only (content/service_workflow.py)
            "content.submit",
            "content.appraise",
            "broadcast_window.write",
            "compliance.read",
            "report.read",
            "report.budget",
        }
    ),
    # Drives out to fix things: their tickets, board details, comments, costs.
    "technician": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            "diagnostics.read",
            "incident.read",
            "incident.comment",
            "incident.report",
            "ticket.read",
            "ticket.work",
            "ticket.comment",
            "ticket.cost",
            "maintenance.read",
        }
    ),
    # Camera status and camera incidents at their sites, nothing else (Điều 13.1.b);
    # they report camera and screen problems there (Điều 9.3).
    "border_guard": frozenset(
        {"camera.read", "incident.read", "incident.comment", "incident.report"}
    ),
    # Reads only, but reports what they see (Điều 9.3 binds every individual).
    "viewer": frozenset(
        {
            "board.read",
            "telemetry.read",
            "camera.read",
            "incident.read",
            "incident.report",
            "ticket.read",
            "maintenance.read",
            "route.read",
            "content.read",
            "compliance.read",
            "report.read",
        }
    ),
    # A supplying unit's account (Điều 10.1.b, 10.1.c): submits its own
    # content and sees its own submissions, nothing else.
    "supplier": frozenset({"content.submit"}),
}

#: Every capability some role has.
ALL_CAPABILITIES: frozenset[str] = frozenset().union(*CAPABILITIES.values())


def is_province_wide(role: str, *, provincial_department: bool) -> bool:
    """Admins, and accounts of the provincial department other than Border
    Guard ones, see every site."""
    return role == "admin" or (provincial_department and role not in ("border_guard", "supplier"))
