"""/api/v1 content: the approved content registry (Điều 9.3). Administrators
(Sở TT&TT) approve, change, retire and delete; operators and viewers read.
The registry is province-wide: it is not narrowed by site. Every change is
audited with the item before and after (docs/content.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import AwareDatetime

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.content import service
from fleet_server.content.models import NewContent
from fleet_server.content.schemas import (
    ContentIn,
    ContentOut,
    ContentPatch,
    Kind,
    RetireIn,
)
from fleet_server.content.storage import Filters

router = APIRouter(tags=["approved content"])

Reader = Annotated[Principal, Depends(require("content.read"))]
Approver = Annotated[Principal, Depends(require("content.approve"))]
ContentId = Annotated[int, Path(ge=1, le=2**62, description="the registry item's id")]


@router.get("/content", summary="the approved content registry")
def content_list(
    conn: Db,
    user: Reader,
    paging: Paging,
    kind: Annotated[Kind | None, Query()] = None,
    language: Annotated[
        str | None, Query(max_length=10, pattern=r"^[a-z]{2,3}(-[a-z]{2,3})?$")
    ] = None,
    valid_at: Annotated[AwareDatetime | None, Query(description="valid at this time")] = None,
    from_department: Annotated[bool | None, Query()] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="title contains, or the hash starts with")
    ] = None,
) -> Page[ContentOut]:
    filters = Filters(
        kind=kind, language=language, valid_at=valid_at, from_department=from_department, q=q
    )
    return service.list_content(conn, paging, filters)


@router.get("/content/{content_id}", summary="one registry item")
def content_get(conn: Db, user: Reader, content_id: ContentId) -> ContentOut:
    return service.get_content(conn, content_id)


@router.post(
    "/content",
    status_code=201,
    summary="approve a file: its SHA-256, kind, language and validity",
    responses={409: {"description": "the hash is already in the registry"}},
)
def content_create(
    request: Request, conn: Db, now: Now, user: Approver, body: ContentIn
) -> ContentOut:
    item = NewContent(**body.model_dump())
    stored = service.approve(conn, item, user.acting_from(client_address(request)), now)
    return service.out(conn, stored)


@router.patch("/content/{content_id}", summary="change an item's title, validity or flag")
def content_patch(
    request: Request, conn: Db, user: Approver, content_id: ContentId, body: ContentPatch
) -> ContentOut:
    changes = body.model_dump(exclude_unset=True)
    stored = service.update(conn, content_id, changes, user.acting_from(client_address(request)))
    return service.out(conn, stored)


@router.post(
    "/content/{content_id}/retire",
    summary="end an item's validity (now, or at a given time); the row is kept",
)
def content_retire(
    request: Request,
    conn: Db,
    now: Now,
    user: Approver,
    content_id: ContentId,
    body: RetireIn | None = None,
) -> ContentOut:
    at = body.at if body is not None and body.at is not None else now
    stored = service.retire(conn, content_id, user.acting_from(client_address(request)), at)
    return service.out(conn, stored)


@router.delete(
    "/content/{content_id}",
    status_code=204,
    summary="delete an item approved by mistake (only if no board has played it)",
    responses={409: {"description": "a board has played it: retire it instead"}},
)
def content_delete(request: Request, conn: Db, user: Approver, content_id: ContentId) -> Response:
    service.delete(conn, content_id, user.acting_from(client_address(request)))
    return Response(status_code=204)
