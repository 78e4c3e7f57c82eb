"""Operations on incidents for people: the queue, one incident with its
timeline, and the operator's actions (acknowledge, resolve with a note,
comment), each checked against the caller's role and scope and audited.
State changes go through ``lifecycle`` — the same code the engine uses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet_server.access import audit
from fleet_server.access.pagination import CursorPage, ListParams
from fleet_server.access.principal import Actor, Principal
from fleet_server.errors import Conflict, NotFound
from fleet_server.incidents import lifecycle, storage_lists, storage_reports
from fleet_server.incidents.models import IncidentFilter
from fleet_server.incidents.schemas import IncidentDetail, IncidentOut
from fleet_server.incidents.storage import Conn
from fleet_server.organisations.health_cache import VersionedCache, cached

#: The lists' totals by (database, scope, filters), each kept for one fleet
#: health version (migration 0045: an incident opened, deleted, resolved,
#: acknowledged or re-graded moves it, and so does a change of sites),
#: confirmed once and at most ``MAX_AGE_S`` old like the overview's. Its own
#: cache: a few hundred small keys must not push the overview's out.
TOTALS: VersionedCache[tuple[int, bool]] = VersionedCache(capacity=512)


def list_incidents(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    filters: IncidentFilter | None = None,
) -> CursorPage[IncidentOut]:
    """Incidents the caller can see, worst and newest first. The total (up
    to ``COUNT_CAP``) of a list filtered only by state, severity, class,
    rule or attachment (the console's queue, polled every few seconds, and
    the API's usual lists) is counted once per change of the fleet's health
    for each scope and filters, not on every request: at a new version the
    first request counts again (in the request, so the total never lags the
    version it read) and the others wait for that count. Lists by board,
    site, parent or time are counted as they come (too many keys to keep)."""
    user.need("incident.read")
    scope, f = user.scope, filters or IncidentFilter()

    def total() -> tuple[int, bool]:
        return cached(
            conn,
            (scope, f),
            lambda c, _: storage_lists.count_selected(c, scope, f),
            cache=TOTALS,
            in_request=True,
        )

    few = f.board_id is None and f.site_id is None and f.parent_id is None
    kept = few and f.since is None and f.until is None
    return storage_lists.page(conn, scope, paging, f, count=total if kept else None)


def attached_incidents(
    conn: Conn, user: Principal, parent_ids: list[int]
) -> dict[int, list[IncidentOut]]:
    """The incidents attached to each of the site incidents ``parent_ids``
    (their boards' incidents) that the caller can see."""
    user.need("incident.read")
    return storage_lists.children(conn, user.scope, parent_ids)


def incidents_of_board(conn: Conn, user: Principal, board_id: str) -> list[IncidentOut]:
    """The board's unresolved incidents, worst first."""
    return storage_lists.of_board(conn, user.scope, board_id)


def get_incident(conn: Conn, user: Principal, incident_id: int) -> IncidentDetail:
    """One incident with its timeline (NotFound outside the caller's scope)."""
    user.need("incident.read")
    incident = storage_lists.visible(conn, user.scope, incident_id)
    if incident is None:
        raise NotFound("incident", incident_id)
    report = storage_reports.report_of(conn, incident_id)
    if report is not None and not user.can("incident.write"):
        report = report.model_copy(update={"address": None})
    return IncidentDetail(
        **incident.model_dump(),
        events=storage_lists.timeline(conn, incident_id),
        report=report,
        attachments=storage_reports.photos_of(conn, incident_id),
    )


def _summary(incident: IncidentOut) -> dict[str, Any]:
    return {
        "state": incident.state,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_by": incident.resolved_by,
        "resolution_note": incident.resolution_note,
    }


def _recorded(
    conn: Conn,
    user: Principal,
    actor: Actor,
    action: str,
    before: IncidentDetail,
    *,
    note: str | None,
) -> IncidentDetail:
    """The incident after a change by a person, with the audit row of it."""
    after = get_incident(conn, user, before.id)
    audit.record(
        conn,
        actor,
        action,
        target_type="incident",
        target_id=before.id,
        before=_summary(before),
        after=_summary(after),
        detail=note,
    )
    return after


def acknowledge_incident(
    conn: Conn,
    user: Principal,
    actor: Actor,
    incident_id: int,
    *,
    now: datetime,
    note: str | None = None,
) -> IncidentDetail:
    user.need("incident.write")
    before = get_incident(conn, user, incident_id)
    if before.state != "open":
        raise Conflict(
            f"incident {incident_id} is {before.state}; only an open one is acknowledged"
        )
    lifecycle.acknowledge(conn, incident_id, now, actor=actor.username, note=note)
    return _recorded(conn, user, actor, "incident.acknowledge", before, note=note)


def resolve_incident(
    conn: Conn, user: Principal, actor: Actor, incident_id: int, *, now: datetime, note: str
) -> IncidentDetail:
    """Resolve by hand: exactly as the engine resolves (notices cancelled or
    the end announced; a site incident's boards that are still down become
    incidents of their own again)."""
    user.need("incident.write")
    before = get_incident(conn, user, incident_id)
    if before.state == "resolved":
        raise Conflict(f"incident {incident_id} is already resolved")
    lifecycle.resolve(conn, incident_id, now, actor=actor.username, note=note)
    return _recorded(conn, user, actor, "incident.resolve", before, note=note)


def comment_incident(
    conn: Conn, user: Principal, actor: Actor, incident_id: int, *, now: datetime, text: str
) -> IncidentDetail:
    user.need("incident.comment")
    get_incident(conn, user, incident_id)
    lifecycle.comment(conn, incident_id, now, actor=actor.username, note=text)
    audit.record(
        conn,
        actor,
        "incident.comment",
        target_type="incident",
        target_id=incident_id,
        after={"comment": text},
    )
    return get_incident(conn, user, incident_id)
