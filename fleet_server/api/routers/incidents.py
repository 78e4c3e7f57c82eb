"""/api/v1 incidents: the queue, one incident with its timeline, and the
operator's actions on it (acknowledge, resolve with a note, comment)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from psycopg.rows import dict_row
from pydantic import BaseModel, Field

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import incidents_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.engine import alerts
from fleet_server.errors import Conflict, NotFound
from fleet_server.incidents import storage as incidents

router = APIRouter(tags=["incidents"])

IncidentState = Literal["open", "acknowledged", "resolved"]
IncidentClass = Literal["technical", "security", "compliance"]
Severity = Literal["critical", "major", "minor", "warning"]
Reader = Annotated[Principal, Depends(require("incident.read"))]
Writer = Annotated[Principal, Depends(require("incident.write"))]
Commenter = Annotated[Principal, Depends(require("incident.comment"))]


class IncidentOut(BaseModel):
    id: int
    rule: str
    incident_class: str
    severity: str
    state: str
    board_id: str | None
    board_name: str | None
    site_id: int | None
    site_name: str | None
    site_name_en: str | None
    organisation_id: int | None
    parent_id: int | None
    title: str
    details: dict[str, Any]
    flapping: bool
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    reopen_count: int


class IncidentEvent(BaseModel):
    at: datetime
    kind: str
    actor: str
    note: str | None
    data: dict[str, Any]


class IncidentDetail(IncidentOut):
    events: list[IncidentEvent]


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ResolveBody(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="what was done; required")


class CommentBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)


_SELECT = """
    SELECT i.id, i.rule, i.class AS incident_class, i.severity, i.state, i.board_id,
           b.name AS board_name, i.site_id, s.name AS site_name, s.name_en AS site_name_en,
           i.organisation_id,
           i.parent_id, i.title, i.details, i.flapping, i.opened_at, i.acknowledged_at,
           i.acknowledged_by, i.resolved_at, i.resolved_by, i.resolution_note, i.reopen_count,
           CASE i.severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2 WHEN 'minor' THEN 1
                ELSE 0 END AS severity_rank
    FROM incidents i
    LEFT JOIN boards b ON b.id = i.board_id
    LEFT JOIN sites s ON s.id = i.site_id
"""
SORTABLE = ("id", "opened_at", "severity_rank", "state", "rule", "board_id", "site_name")


def list_incidents(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    state: list[str] | None = None,
    incident_class: str | None = None,
    severity: list[str] | None = None,
    board_id: str | None = None,
    site_id: int | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[IncidentOut]:
    scope, params = incidents_condition(user.scope, "i.site_id", "i.rule")
    where = [scope]
    if state:
        where.append("i.state = ANY(%s)")
        params.append(state)
    if severity:
        where.append("i.severity = ANY(%s)")
        params.append(severity)
    add_equal(
        where,
        params,
        (
            ("i.class", incident_class),
            ("i.board_id", board_id),
            ("i.site_id", site_id),
            ("i.rule", rule),
        ),
    )
    if since is not None:
        where.append("i.opened_at >= %s")
        params.append(since)
    if until is not None:
        where.append("i.opened_at < %s")
        params.append(until)
    if paging.sort in ("severity", "-severity"):
        paging = paging.model_copy(
            update={"sort": paging.sort.replace("severity", "severity_rank")}
        )
    return fetch_page(
        conn,
        f"{_SELECT} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=SORTABLE,
        default="severity_rank DESC, opened_at DESC",
        tiebreak="id DESC",
        model=IncidentOut,
    )


def incidents_of_board(conn: Conn, user: Principal, board_id: str) -> list[IncidentOut]:
    """The board's unresolved incidents, worst first."""
    scope, params = incidents_condition(user.scope, "i.site_id", "i.rule")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"{_SELECT} WHERE i.board_id = %s AND i.state <> 'resolved' AND {scope}"
            " ORDER BY severity_rank DESC, i.opened_at DESC LIMIT 100",
            [board_id, *params],
        ).fetchall()
    return [IncidentOut.model_validate(r) for r in rows]


def get_incident(conn: Conn, user: Principal, incident_id: int) -> IncidentDetail:
    scope, params = incidents_condition(user.scope, "i.site_id", "i.rule")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{_SELECT} WHERE i.id = %s AND {scope}", [incident_id, *params]
        ).fetchone()
        if row is None:
            raise NotFound("incident", incident_id)
        events = cur.execute(
            "SELECT at, kind, actor, note, data FROM incident_events"
            " WHERE incident_id = %s ORDER BY at, id",
            (incident_id,),
        ).fetchall()
    return IncidentDetail(**row, events=[IncidentEvent(**e) for e in events])


def _summary(incident: IncidentOut) -> dict[str, Any]:
    return {
        "state": incident.state,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_by": incident.resolved_by,
        "resolution_note": incident.resolution_note,
    }


def acknowledge_incident(
    conn: Conn,
    user: Principal,
    request: Request,
    incident_id: int,
    *,
    now: datetime,
    note: str | None = None,
) -> IncidentDetail:
    before = get_incident(conn, user, incident_id)
    if before.state != "open":
        raise Conflict(
            f"incident {incident_id} is {before.state}; only an open one is acknowledged"
        )
    incidents.acknowledge(conn, incident_id, now, actor=user.actor, note=note)
    after = get_incident(conn, user, incident_id)
    record(
        conn,
        user,
        request,
        "incident.acknowledge",
        target_type="incident",
        target_id=incident_id,
        before=_summary(before),
        after=_summary(after),
        detail=note,
    )
    return after


def resolve_incident(
    conn: Conn, user: Principal, request: Request, incident_id: int, *, now: datetime, note: str
) -> IncidentDetail:
    before = get_incident(conn, user, incident_id)
    if before.state == "resolved":
        raise Conflict(f"incident {incident_id} is already resolved")
    resolved = incidents.resolve(conn, incident_id, now, actor=user.actor, note=note)
    alerts.on_resolved(conn, resolved, now)
    after = get_incident(conn, user, incident_id)
    record(
        conn,
        user,
        request,
        "incident.resolve",
        target_type="incident",
        target_id=incident_id,
        before=_summary(before),
        after=_summary(after),
        detail=note,
    )
    return after


def comment_incident(
    conn: Conn, user: Principal, request: Request, incident_id: int, *, now: datetime, text: str
) -> IncidentDetail:
    get_incident(conn, user, incident_id)
    incidents.add_event(conn, incident_id, now, "comment", actor=user.actor, note=text)
    record(
        conn,
        user,
        request,
        "incident.comment",
        target_type="incident",
        target_id=incident_id,
        after={"comment": text},
    )
    return get_incident(conn, user, incident_id)


@router.get("/incidents", summary="incidents the caller can see (worst and newest first)")
def incidents_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    state: Annotated[list[IncidentState] | None, Query(description="repeatable")] = None,
    incident_class: Annotated[IncidentClass | None, Query(alias="class")] = None,
    severity: Annotated[list[Severity] | None, Query(description="repeatable")] = None,
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="opened at or after")] = None,
    until: Annotated[datetime | None, Query(description="opened before")] = None,
) -> Page[IncidentOut]:
    return list_incidents(
        conn,
        user,
        paging,
        state=list(state) if state else None,
        incident_class=incident_class,
        severity=list(severity) if severity else None,
        board_id=board_id,
        site_id=site_id,
        rule=rule,
        since=since,
        until=until,
    )


@router.get("/incidents/{incident_id}", summary="one incident with its timeline")
def incidents_get(conn: Db, user: Reader, incident_id: int) -> IncidentDetail:
    return get_incident(conn, user, incident_id)


@router.post("/incidents/{incident_id}/acknowledge", summary="acknowledge an open incident")
def incidents_acknowledge(
    request: Request, conn: Db, now: Now, user: Writer, incident_id: int, body: Note | None = None
) -> IncidentDetail:
    return acknowledge_incident(
        conn, user, request, incident_id, now=now, note=body.note if body else None
    )


@router.post("/incidents/{incident_id}/resolve", summary="resolve an incident with a note")
def incidents_resolve(
    request: Request, conn: Db, now: Now, user: Writer, incident_id: int, body: ResolveBody
) -> IncidentDetail:
    return resolve_incident(conn, user, request, incident_id, now=now, note=body.note)


@router.post("/incidents/{incident_id}/comments", summary="add a comment to the timeline")
def incidents_comment(
    request: Request, conn: Db, now: Now, user: Commenter, incident_id: int, body: CommentBody
) -> IncidentDetail:
    return comment_incident(conn, user, request, incident_id, now=now, text=body.text)
