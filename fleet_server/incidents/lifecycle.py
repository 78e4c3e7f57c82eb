"""The incident lifecycle in one place: open, attach to a site incident,
acknowledge, comment, resolve, release a site incident's boards, and the
maintenance hold on notices. The engine and the API both change incidents
through these functions only, so a site incident resolved by a person
releases its boards exactly as one the engine resolves.

Each change and its notices are written in the caller's transaction (the
transactional outbox): a notice is never sent for a change that rolled back.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from fleet_server.incidents import notices, storage, titles
from fleet_server.incidents.models import (
    CONFIRMED_RULES,
    REPORT_KEY_PREFIX,
    SITE_RULE,
    Incident,
    IncidentSpec,
)
from fleet_server.incidents.storage import Conn, Outcome
from fleet_server.maintenance.service import maintenance_until
from fleet_server.notifications import Notice, Text, cancel_for_incident, enqueue

log = logging.getLogger(__name__)

#: Board connectivity notices wait this long by default, so a whole-site
#: outage found in the meantime replaces them with one site notice.
CONFIRM_BOARD_S = 120.0


def _text(incident: Incident) -> Text:
    """What happened, in both languages (a rule's title from its key; an
    older "vi / en" title split; a person's words as written)."""
    vi, en = titles.both(
        incident.title,
        incident.title_key,
        incident.title_params,
        bilingual=not incident.dedupe_key.startswith(REPORT_KEY_PREFIX),
    )
    return Text(vi, en if en != vi else None)


def notice(conn: Conn, incident: Incident, kind: str, now: datetime, **extra: Any) -> Notice:
    """The notice of ``kind`` about ``incident``: its title, place, cause,
    readings and console page (``incidents.notices``)."""
    extra = {**notices.described(conn, incident), **extra}
    return Notice(
        kind=kind,  # type: ignore[arg-type]
        severity=incident.severity,
        title=_text(incident),
        occurred_at=now,
        organisation_id=incident.organisation_id,
        site_id=incident.site_id,
        board_id=incident.board_id,
        incident_id=incident.id,
        incident_class=incident.incident_class,
        incident_kind=incident.rule,
        **extra,
    )


def notify_opened(
    conn: Conn, incident: Incident, now: datetime, *, confirm_board_s: float = CONFIRM_BOARD_S
) -> None:
    """Tell people an incident opened: held during maintenance, and a board's
    connectivity notice for ``confirm_board_s`` (a site incident found
    meanwhile replaces it)."""
    if incident.parent_id is not None:
        return  # the site incident speaks for it
    hold = maintenance_until(conn, incident.board_id, incident.site_id, now)
    if incident.rule in CONFIRMED_RULES:
        confirm = now + timedelta(seconds=confirm_board_s)
        hold = max(hold, confirm) if hold else confirm
    enqueue(
        conn,
        notice(
            conn,
            incident,
            "site_incident" if incident.rule == SITE_RULE else "incident_opened",
            now,
        ),
        hold_until=hold,
        now=now,
    )


def notify_resolved(conn: Conn, incident: Incident, now: datetime) -> None:
    """Cancel what was not sent yet; announce the end to whoever may have
    heard that it opened."""
    # Judged before the cancel below, so a recipient whose notice is being
    # sent (or was tried) also hears that it is over.
    heard = storage.notice_heard(conn, incident.id)
    cancel_for_incident(
        conn,
        incident.id,
        kinds=("incident_opened", "site_incident", "incident_reminder"),
        reason="resolved before it was sent",
    )
    if incident.parent_id is None and heard:
        # only when somebody heard it opened; nobody needs to hear of a blip
        enqueue(conn, notice(conn, incident, "incident_resolved", now), now=now)


def open_incident(
    conn: Conn,
    spec: IncidentSpec,
    now: datetime,
    *,
    actor: str,
    confirm_board_s: float = CONFIRM_BOARD_S,
) -> tuple[Incident, Outcome]:
    """Open (or reopen a recently resolved) incident for ``spec``, or return
    the one already open; people hear of a new or reopened one."""
    incident, outcome = storage.open_incident(conn, spec, now, actor=actor)
    if outcome != "existing":
        notify_opened(conn, incident, now, confirm_board_s=confirm_board_s)
    return incident, outcome


def attach(
    conn: Conn, child: Incident, site_incident: Incident, now: datetime, *, actor: str
) -> None:
    """Make a board incident part of its site incident: the site incident's
    notice replaces the board's own."""
    storage.attach(conn, child.id, site_incident.id, now, actor=actor)
    cancelled = cancel_for_incident(conn, child.id, reason="part of a site incident")
    if cancelled:
        log.info("incident %d: %d notices replaced by the site incident", child.id, cancelled)


def acknowledge(
    conn: Conn, incident_id: int, now: datetime, *, actor: str, note: str | None = None
) -> Incident:
    """An open incident acknowledged (InvalidTransition unless open)."""
    return storage.acknowledge(conn, incident_id, now, actor=actor, note=note)


def comment(conn: Conn, incident_id: int, now: datetime, *, actor: str, note: str) -> None:
    """A comment on the incident's timeline."""
    storage.add_event(conn, incident_id, now, "comment", actor=actor, note=note)


def resolve(
    conn: Conn,
    incident_id: int,
    now: datetime,
    *,
    actor: str,
    note: str | None = None,
    confirm_board_s: float = CONFIRM_BOARD_S,
) -> Incident:
    """Resolve an incident (InvalidTransition when already resolved): its
    pending notices cancelled or its end announced, and for a site incident
    its boards that are still down released as incidents of their own."""
    incident = storage.resolve(conn, incident_id, now, actor=actor, note=note)
    notify_resolved(conn, incident, now)
    if incident.rule == SITE_RULE:
        release_children(conn, incident, now, actor=actor, confirm_board_s=confirm_board_s)
    return incident


def release_children(
    conn: Conn,
    site_incident: Incident,
    now: datetime,
    *,
    actor: str,
    confirm_board_s: float = CONFIRM_BOARD_S,
) -> list[int]:
    """The site is back but some of its boards are not: they are incidents of
    their own again, and people must hear of them. Their ids."""
    released = storage.release_children(conn, site_incident.id, now)
    for child_id in released:
        child = storage.get(conn, child_id)
        if child is not None:
            storage.add_event(
                conn,
                child_id,
                now,
                "comment",
                actor=actor,
                note="the site is back; this board is not",
            )
            notify_opened(conn, child, now, confirm_board_s=confirm_board_s)
    return released


def mark_flapping(conn: Conn, incident_id: int, now: datetime, *, actor: str) -> None:
    """The condition keeps opening and clearing: one flapping incident."""
    storage.mark_flapping(conn, incident_id, now, actor=actor)
