"""What the engine does about running incidents: reminders, escalation,
automatic and preventive tickets, tickets' deadline notices, and the
orphans of removed boards (called inside its pass transaction, so a change
and its notification commit together — the transactional outbox). Opening,
attaching and resolving an incident, and the notices those send, are
``fleet_server.incidents.lifecycle``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from fleet_server.engine import storage
from fleet_server.incidents import lifecycle
from fleet_server.incidents import storage as incidents
from fleet_server.maintenance.service import maintenance_until
from fleet_server.notifications import enqueue
from fleet_server.tickets import storage as tickets
from fleet_server.tickets import storage_preventive as preventive
from fleet_server.tickets.models import AUTO_TICKETS, AutoTicketRule
from fleet_server.tickets.notices import TicketNoticeSettings, queue_deadlines

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
ACTOR = "engine"


@dataclass(frozen=True, slots=True)
class AlertSettings:
    #: board connectivity notices wait this long, so a whole-site outage found
    #: in the meantime replaces them with one site notice
    confirm_board_s: float = lifecycle.CONFIRM_BOARD_S
    reminder_s: float = 1800.0  # unacknowledged critical incidents
    escalate_after_s: dict[str, float] = field(
        default_factory=lambda: {"critical": 900.0, "major": 3600.0}
    )
    auto_tickets: dict[str, AutoTicketRule] = field(default_factory=lambda: dict(AUTO_TICKETS))
    #: when tickets' due-soon, overdue and escalation notices go out
    tickets: TicketNoticeSettings = field(default_factory=TicketNoticeSettings)


def reminders_and_escalation(conn: Conn, now: datetime, settings: AlertSettings) -> None:
    """Remind about unacknowledged critical incidents; escalate old ones."""
    for incident in incidents.unresolved_keys(conn).values():
        if incident.state != "open" or incident.parent_id is not None:
            continue
        if maintenance_until(conn, incident.board_id, incident.site_id, now) is not None:
            continue  # planned work: no reminders, no escalation
        age = (now - incident.opened_at).total_seconds()
        done = incidents.notified(conn, incident.id)
        if incident.severity == "critical" and age >= settings.reminder_s:
            n = int(age // settings.reminder_s)
            if f"reminder:{n}" not in done:
                enqueue(
                    conn,
                    lifecycle.notice(
                        conn,
                        incident,
                        "incident_reminder",
                        now,
                        dedup_key=f"incident:{incident.id}:reminder:{n}",
                    ),
                    now=now,
                )
                incidents.add_event(
                    conn, incident.id, now, "notified", actor=ACTOR, note=f"reminder:{n}"
                )
        limit = settings.escalate_after_s.get(incident.severity)
        if limit is not None and age >= limit and "escalated" not in done:
            enqueue(
                conn,
                lifecycle.notice(
                    conn,
                    incident,
                    "incident_escalated",
                    now,
                    escalation_level=1,
                    dedup_key=f"incident:{incident.id}:escalated",
                ),
                now=now,
            )
            incidents.add_event(
                conn,
                incident.id,
                now,
                "escalated",
                actor=ACTOR,
                note=f"not acknowledged after {int(limit // 60)} min",
            )


def ticket_deadlines(conn: Conn, now: datetime, settings: AlertSettings) -> int:
    """Tickets whose deadline comes near, passes, or passed long ago: their
    notices, each once (``tickets.notices``); how many were queued."""
    return queue_deadlines(conn, now, settings.tickets)


def auto_tickets(conn: Conn, now: datetime, settings: AlertSettings) -> list[int]:
    """Incidents that need a site visit get a corrective ticket once they
    have lasted long enough; one open ticket per board/site and rule."""
    created: list[int] = []
    for incident in incidents.unresolved_keys(conn).values():
        rule = settings.auto_tickets.get(incident.rule)
        if rule is None or incident.parent_id is not None or incident.site_id is None:
            continue
        if (now - incident.opened_at).total_seconds() < rule.after_s:
            continue
        if preventive.incident_has_ticket(conn, incident.id):
            continue  # its ticket exists (perhaps already closed by a technician)
        where = incident.board_id or storage.site_name(conn, incident.site_id)
        ticket, new = tickets.create(
            conn,
            site_id=incident.site_id,
            board_id=incident.board_id,
            kind="corrective",
            priority=rule.priority,
            title=f"{rule.title} — {where}",
            actor=ACTOR,
            now=now,
            description=incident.title,
            source_key=incident.dedupe_key,
        )
        tickets.link_incident(conn, ticket.id, incident.id, actor=ACTOR, now=now)
        if new:
            created.append(ticket.id)
    return created


def preventive_tickets(conn: Conn, now: datetime) -> list[int]:
    created: list[int] = []
    for due in preventive.due_schedules(conn, now):
        ticket, new = tickets.create(
            conn,
            site_id=due.site_id,
            board_id=due.board_id,
            kind="preventive",
            priority=due.priority,
            title=due.title,
            actor=ACTOR,
            now=now,
            description=due.checklist,
            source_key=f"preventive:{due.id}:{due.next_due_on.isoformat()}",
        )
        preventive.set_next_due(conn, due.id, preventive.following_due(due, now))
        if new:
            created.append(ticket.id)
    return created


def resolve_orphans(conn: Conn, enabled_boards: set[str], now: datetime) -> None:
    """Incidents of boards that were disabled or removed can never clear by
    themselves: resolve them, and forget their conditions."""
    for incident_id, board_id in incidents.unresolved_on_boards(conn):
        if board_id in enabled_boards:
            continue
        lifecycle.resolve(conn, incident_id, now, actor=ACTOR, note="board disabled or removed")
        storage.forget_board_conditions(conn, board_id)
