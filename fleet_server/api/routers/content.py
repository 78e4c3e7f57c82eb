"""/api/v1 content: the approved content registry (Điều 9.3). Administrators
(Sở TT&TT) approve, change, retire and delete; operators and viewers read.
The registry is province-wide: it is not narrowed by site. Every change is
audited with the item before and after (docs/content.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn, Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.api.problems import Problem
from fleet_server.content import service, storage
from fleet_server.content.models import (
    SHA256,
    TITLE_MAX,
    Actor,
    ContentError,
    ContentItem,
    NewContent,
    normalise_sha256,
)
from fleet_server.errors import Conflict, NotFound

router = APIRouter(tags=["approved content"])

Reader = Annotated[Principal, Depends(require("content.read"))]
Approver = Annotated[Principal, Depends(require("content.approve"))]
ContentId = Annotated[int, Path(ge=1, le=2**62, description="the registry item's id")]
#: models.KINDS and models.LANGUAGES as types (a test keeps them equal)
Kind = Literal["propaganda", "advertising", "emergency"]
Language = Literal[
    "vi", "hmn", "tai", "blt", "twh", "ium", "hni", "khb", "lhu", "kjg", "vi-en", "vi-zh"
]
Sha256 = Annotated[
    str,
    BeforeValidator(lambda v: normalise_sha256(v) if isinstance(v, str) else v),
    Field(pattern=SHA256.pattern, description="the file's SHA-256, 64 hex digits"),
]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX, pattern=r"^[^\x00]*\S[^\x00]*$")]


class ContentOut(BaseModel):
    id: int
    title: str
    kind: str
    language: str
    sha256: str
    valid_from: datetime
    valid_to: datetime | None
    from_department: bool
    approved_by: str
    approved_at: datetime
    #: a board has shown the file (it cannot be deleted, only retired)
    played: bool


class ContentIn(BaseModel):
    title: Title
    kind: Kind
    language: Language = Field(description="see docs/content.md for the codes")
    sha256: Sha256
    valid_from: AwareDatetime
    valid_to: AwareDatetime | None = Field(default=None, description="none: no end")
    from_department: bool = Field(
        default=False, description="supplied by the provincial Department (annual report)"
    )

    @field_validator("valid_to")
    @classmethod
    def _after_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("valid_from")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be after valid_from")
        return value


class ContentPatch(BaseModel):
    #: the hash, kind and language are what was approved: not changeable
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    valid_from: AwareDatetime | None = None
    valid_to: AwareDatetime | None = None
    from_department: bool | None = None


class RetireIn(BaseModel):
    at: AwareDatetime | None = Field(default=None, description="end of validity; default now")


#: ContentError.reason → HTTP status.
STATUS = {"invalid": 422, "duplicate": 409, "not_found": 404, "played": 409, "retired": 409}


def problem_for(exc: ContentError) -> Problem | Conflict:
    if exc.reason == "not_found":
        return Problem(404, exc.detail, kind="not-found")
    if exc.reason == "invalid":
        errors = [{"field": exc.field or "body", "message": exc.detail}]
        return Problem(422, exc.detail, kind="validation", title="Invalid request", errors=errors)
    extra: dict[str, Any] = {"reason": exc.reason}
    if exc.field:
        extra["field"] = exc.field
    problem = Conflict(exc.detail) if STATUS.get(exc.reason) == 409 else Problem(400, exc.detail)
    problem.extra.update(extra)
    return problem


def actor_of(request: Request, user: Principal) -> Actor:
    return Actor(user.actor, user.user_id, client_address(request))


def out(conn: Conn, item: ContentItem) -> ContentOut:
    return ContentOut(
        **{k: getattr(item, k) for k in ContentOut.model_fields if k != "played"},
        played=storage.played(conn, item.sha256),
    )


def list_content(conn: Conn, paging: ListParams, filters: storage.Filters) -> Page[ContentOut]:
    sql, params = storage.select_sql(filters)
    return fetch_page(
        conn,
        sql,
        params,
        paging,
        sortable=(
            "id",
            "title",
            "kind",
            "language",
            "valid_from",
            "valid_to",
            "approved_at",
            "approved_by",
        ),
        default="approved_at DESC",
        tiebreak="id DESC",
        model=ContentOut,
    )


def get_content(conn: Conn, content_id: int) -> ContentOut:
    item = storage.get(conn, content_id)
    if item is None:
        raise NotFound("content", content_id)
    return out(conn, item)


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
    filters = storage.Filters(
        kind=kind, language=language, valid_at=valid_at, from_department=from_department, q=q
    )
    return list_content(conn, paging, filters)


@router.get("/content/{content_id}", summary="one registry item")
def content_get(conn: Db, user: Reader, content_id: ContentId) -> ContentOut:
    return get_content(conn, content_id)


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
    try:
        stored = service.approve(conn, item, actor_of(request, user), now)
    except ContentError as exc:
        raise problem_for(exc) from None
    return out(conn, stored)


@router.patch("/content/{content_id}", summary="change an item's title, validity or flag")
def content_patch(
    request: Request, conn: Db, user: Approver, content_id: ContentId, body: ContentPatch
) -> ContentOut:
    changes = body.model_dump(exclude_unset=True)
    try:
        stored = service.update(conn, content_id, changes, actor_of(request, user))
    except ContentError as exc:
        raise problem_for(exc) from None
    return out(conn, stored)


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
    try:
        stored = service.retire(conn, content_id, actor_of(request, user), at)
    except ContentError as exc:
        raise problem_for(exc) from None
    return out(conn, stored)


@router.delete(
    "/content/{content_id}",
    status_code=204,
    summary="delete an item approved by mistake (only if no board has played it)",
    responses={409: {"description": "a board has played it: retire it instead"}},
)
def content_delete(request: Request, conn: Db, user: Approver, content_id: ContentId) -> Response:
    try:
        service.delete(conn, content_id, actor_of(request, user))
    except ContentError as exc:
        raise problem_for(exc) from None
    return Response(status_code=204)
