"""Notices about tickets (Điều 11): to the person a ticket is given to when it
is assigned or reassigned, and when its deadline comes near (``due``), passes
(``overdue``) and has passed long ago (``escalated``, to the escalation
routes). Each is queued once: assignment by the ticket service in the same
transaction as the change, deadlines by the engine with its clock, recorded
in ``ticket_notices`` and keyed in the outbox. Deadline notices wait while a
maintenance window covers the ticket's board or site (the work is planned)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fleet_server.maintenance.service import maintenance_until
from fleet_server.notifications import Notice, Text, enqueue
from fleet_server.notifications.models import DetailValue, NoticeKind
from fleet_server.tickets import storage_notices as storage
from fleet_server.tickets.storage import Conn
from fleet_server.vocabulary import Severity

log = logging.getLogger(__name__)

#: A ticket's priority as a notice's severity (routes filter on severity).
SEVERITY: dict[str, Severity] = {
    "urgent": "critical",
    "high": "major",
    "normal": "minor",
    "low": "warning",
}
STAGE_KINDS: dict[str, NoticeKind] = {
    "due": "ticket_due",
    "overdue": "ticket_overdue",
    "escalated": "ticket_escalated",
}


@dataclass(frozen=True, slots=True)
class TicketNoticeSettings:
    """When deadline notices go out (FLEET_TICKET_DUE_SOON_H,
    FLEET_TICKET_ESCALATE_AFTER_H)."""

    due_soon_s: float = 4 * 3600.0
    escalate_after_s: float = 24 * 3600.0


def _text(title: str) -> Text:
    vi, _, en = title.partition(" / ")
    return Text(vi.strip(), en.strip() or None)


def ticket_notice(
    row: dict[str, Any],
    kind: NoticeKind,
    now: datetime,
    *,
    dedup_key: str,
    contact_ids: tuple[int, ...] = (),
    escalation_level: int = 0,
) -> Notice:
    """The notice of ``kind`` about the ticket ``row`` (``notice_row``)."""
    details: dict[str, DetailValue] = {
        "priority": row["priority"],
        "assignee": row["assignee"],
        "team": row["team"],
        "due_at": row["due_at"].isoformat(),
    }
    if row["due_at"] <= now:
        details["overdue_s"] = int((now - row["due_at"]).total_seconds())
    site = Text(row["site_name"], row["site_name_en"]) if row["site_name"] else None
    return Notice(
        kind=kind,
        severity=SEVERITY.get(row["priority"], "minor"),
        title=_text(row["title"]),
        occurred_at=now,
        organisation_id=row["organisation_id"],
        site_id=row["site_id"],
        board_id=row["board_id"],
        ticket_id=row["id"],
        incident_class=row["incident_class"] or "technical",
        incident_kind=row["incident_rule"],
        escalation_level=escalation_level,
        site_name=site,
        board_name=row["board_name"],
        details={k: v for k, v in details.items() if v is not None},
        contact_ids=contact_ids,
        dedup_key=dedup_key,
        link_path=f"/tickets/{row['id']}",
    )


def queue_assigned(conn: Conn, ticket_id: int, now: datetime) -> list[int]:
    """Tell the new assignee (their own contact) and the ticket's routes
    that the ticket is theirs; the outbox rows queued."""
    row = storage.notice_row(conn, ticket_id)
    if row is None or not row["assignee"]:
        return []
    notice = ticket_notice(
        row,
        "ticket_assigned",
        now,
        dedup_key=f"ticket:{ticket_id}:assigned:{row['assignee']}:{now.isoformat()}",
        contact_ids=storage.contacts_of(conn, row["assignee"]),
    )
    return enqueue(conn, notice, now=now)


def queue_deadlines(conn: Conn, now: datetime, settings: TicketNoticeSettings) -> int:
    """Queue the due-soon, overdue and escalation notices that have come and
    were not queued yet (the engine's periodic round, in its transaction);
    how many notices were queued."""
    queued = 0
    for ticket_id, stage, due_at in storage.deadlines_due(
        conn,
        now,
        due_soon=timedelta(seconds=settings.due_soon_s),
        escalate_after=timedelta(seconds=settings.escalate_after_s),
    ):
        row = storage.notice_row(conn, ticket_id)
        if row is None:
            continue
        if maintenance_until(conn, row["board_id"], row["site_id"], now) is not None:
            continue  # planned work: told after the window, if still late
        notice = ticket_notice(
            row,
            STAGE_KINDS[stage],
            now,
            dedup_key=f"ticket:{ticket_id}:{stage}:{due_at.isoformat()}",
            contact_ids=storage.contacts_of(conn, row["assignee"]),
            escalation_level=1 if stage == "escalated" else 0,
        )
        ids = enqueue(conn, notice, now=now)
        storage.mark(conn, ticket_id, stage, due_at, now=now, recipients=len(ids))
        queued += 1
    if queued:
        log.info("queued %d ticket deadline notice(s)", queued)
    return queued
