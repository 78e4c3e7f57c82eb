"""/api/v1 incidents: the queue, one incident with its timeline, and the
operator's actions on it (acknowledge, resolve with a note, comment)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.incidents import service
from fleet_server.incidents.models import IncidentFilter, IncidentState
from fleet_server.incidents.schemas import (
    CommentBody,
    IncidentDetail,
    IncidentOut,
    Note,
    ResolveBody,
)
from fleet_server.vocabulary import IncidentClass, Severity

router = APIRouter(tags=["incidents"])

Reader = Annotated[Principal, Depends(require("incident.read"))]
Writer = Annotated[Principal, Depends(require("incident.write"))]
Commenter = Annotated[Principal, Depends(require("incident.comment"))]


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
    return service.list_incidents(
        conn,
        user,
        paging,
        IncidentFilter(
            states=tuple(state or ()),
            incident_class=incident_class,
            severities=tuple(severity or ()),
            board_id=board_id,
            site_id=site_id,
            rule=rule,
            since=since,
            until=until,
        ),
    )


@router.get("/incidents/{incident_id}", summary="one incident with its timeline")
def incidents_get(conn: Db, user: Reader, incident_id: int) -> IncidentDetail:
    return service.get_incident(conn, user, incident_id)


@router.post("/incidents/{incident_id}/acknowledge", summary="acknowledge an open incident")
def incidents_acknowledge(
    request: Request, conn: Db, now: Now, user: Writer, incident_id: int, body: Note | None = None
) -> IncidentDetail:
    actor = user.acting_from(client_address(request))
    return service.acknowledge_incident(
        conn, user, actor, incident_id, now=now, note=body.note if body else None
    )


@router.post("/incidents/{incident_id}/resolve", summary="resolve an incident with a note")
def incidents_resolve(
    request: Request, conn: Db, now: Now, user: Writer, incident_id: int, body: ResolveBody
) -> IncidentDetail:
    actor = user.acting_from(client_address(request))
    return service.resolve_incident(conn, user, actor, incident_id, now=now, note=body.note)


@router.post("/incidents/{incident_id}/comments", summary="add a comment to the timeline")
def incidents_comment(
    request: Request, conn: Db, now: Now, user: Commenter, incident_id: int, body: CommentBody
) -> IncidentDetail:
    actor = user.acting_from(client_address(request))
    return service.comment_incident(conn, user, actor, incident_id, now=now, text=body.text)
