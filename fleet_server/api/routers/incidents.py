"""/api/v1 incidents: the queue, one incident with its timeline, the
operator's actions on it (acknowledge, resolve with a note, comment), and a
person's report of an incident with its photos (Điều 9.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Header, Path, Query, Request, Response, UploadFile

from fleet_server.access.pagination import CursorPage
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Ctx, Db, Now, client_address, require
from fleet_server.api.pagination import KeysetPaging, link_next
from fleet_server.api.routers.stored import stored_file
from fleet_server.errors import Invalid
from fleet_server.incidents import service, service_reports
from fleet_server.incidents.models import IncidentFilter, IncidentState
from fleet_server.incidents.photos import EXTENSIONS, PhotoLimits
from fleet_server.incidents.schemas import (
    CommentBody,
    IncidentDetail,
    IncidentOut,
    Note,
    ReportBody,
    ResolveBody,
)
from fleet_server.vocabulary import IncidentClass, Severity

router = APIRouter(tags=["incidents"])

Reader = Annotated[Principal, Depends(require("incident.read"))]
Writer = Annotated[Principal, Depends(require("incident.write"))]
Commenter = Annotated[Principal, Depends(require("incident.comment"))]
Reporter = Annotated[Principal, Depends(require("incident.report"))]
IncidentId = Annotated[int, Path(ge=1, le=2**62)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=100,
        pattern=r"^[A-Za-z0-9._:-]+$",
        description="the same key again returns the incident the first request opened",
    ),
]


@router.get("/incidents", summary="incidents the caller can see (worst and newest first)")
def incidents_list(
    request: Request,
    response: Response,
    conn: Db,
    user: Reader,
    paging: KeysetPaging,
    state: Annotated[list[IncidentState] | None, Query(description="repeatable")] = None,
    incident_class: Annotated[IncidentClass | None, Query(alias="class")] = None,
    severity: Annotated[list[Severity] | None, Query(description="repeatable")] = None,
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    rule: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[datetime | None, Query(description="opened at or after")] = None,
    until: Annotated[datetime | None, Query(description="opened before")] = None,
    parent_id: Annotated[
        int | None, Query(ge=1, le=2**62, description="the incidents attached to this one")
    ] = None,
    top_level: Annotated[
        bool, Query(description="only incidents not attached to a site incident")
    ] = False,
) -> CursorPage[IncidentOut]:
    """Sort by id, opened_at, severity, state, rule, board_id or site_name;
    page with ``cursor`` (each page's ``next_cursor``, also in the ``Link``
    header). ``total`` counts at most 10,000 (``total_capped``)."""
    page = service.list_incidents(
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
            parent_id=parent_id,
            top_level=top_level,
        ),
    )
    link_next(request, response, page)
    return page


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


def photo_limits(ctx: Ctx) -> PhotoLimits:
    return PhotoLimits(ctx.settings.incident_photo_max_bytes, ctx.settings.incident_photos_max)


def read_uploads(files: list[UploadFile], limits: PhotoLimits) -> list[bytes]:
    """The uploaded files' bytes, each read to one byte past the limit (so a
    huge file is refused without reading it all)."""
    if len(files) > limits.max_count:
        raise Invalid(f"at most {limits.max_count} photos per incident", field="photos")
    return [f.file.read(limits.max_bytes + 1) for f in files]


@router.post(
    "/incidents",
    status_code=201,
    summary="report an incident on a board or a site (Điều 9.3)",
    responses={200: {"description": "the same report again: the incident it opened"}},
)
def incidents_report(
    request: Request,
    response: Response,
    conn: Db,
    now: Now,
    user: Reporter,
    body: ReportBody,
    idempotency_key: IdempotencyKey = None,
) -> IncidentDetail:
    actor = user.acting_from(client_address(request))
    incident, created = service_reports.report_incident(
        conn, user, actor, body, now=now, client_key=idempotency_key
    )
    if not created:
        response.status_code = 200
    return incident


@router.post("/incidents/{incident_id}/photos", summary="attach photos (JPEG, PNG, WebP)")
def incidents_photos(
    request: Request,
    ctx: Ctx,
    conn: Db,
    now: Now,
    user: Reporter,
    incident_id: IncidentId,
    photos: Annotated[list[UploadFile], File(description="one or more photos")],
) -> IncidentDetail:
    limits = photo_limits(ctx)
    checked = service_reports.check_photos(read_uploads(photos, limits), limits)
    actor = user.acting_from(client_address(request))
    return service_reports.add_photos(
        conn, user, actor, incident_id, checked, limits=limits, now=now
    )


@router.get(
    "/incidents/{incident_id}/photos/{photo_id}",
    summary="one photo of an incident",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def incidents_photo(
    conn: Db, user: Reader, incident_id: IncidentId, photo_id: IncidentId
) -> Response:
    content_type, data = service_reports.photo(conn, user, incident_id, photo_id)
    name = f"incident-{incident_id}-photo-{photo_id}.{EXTENSIONS[content_type]}"
    return stored_file(data, content_type, name, "private, max-age=3600")
