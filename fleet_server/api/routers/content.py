"""/api/v1 content: the approved content registry (Điều 9.3). Administrators
(Sở TT&TT) approve, change, retire and delete; operators and viewers read.
The registry is province-wide: it is not narrowed by site. Every change is
audited with the item before and after (docs/content.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response, UploadFile
from pydantic import AwareDatetime

from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.content_store import Store
from fleet_server.api.deps import Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.content import service, service_suppliers, service_workflow
from fleet_server.content.models import NewContent
from fleet_server.content.schemas import (
    ContentIn,
    ContentOut,
    ContentPatch,
    Kind,
    RetireIn,
)
from fleet_server.content.schemas_workflow import (
    ApproveIn,
    CategoryCode,
    CommentIn,
    OverdueOut,
    ResubmitIn,
    ReturnIn,
    StateName,
    SubmissionIn,
    SubmissionOut,
    SupplierIn,
    SupplierOut,
    SupplierPatch,
)
from fleet_server.content.service_files import store_upload
from fleet_server.content.storage import Filters
from fleet_server.content.storage_workflow import SubmissionFilter

router = APIRouter(tags=["approved content"])

Reader = Annotated[Principal, Depends(require("content.read"))]
Approver = Annotated[Principal, Depends(require("content.approve"))]
ContentId = Annotated[int, Path(ge=1, le=2**62, description="the registry item's id")]
Submitter = Annotated[Principal, Depends(require("content.submit"))]
Appraiser = Annotated[Principal, Depends(require("content.appraise"))]
SubmissionId = Annotated[int, Path(ge=1, le=2**62, description="the submission's id")]
SupplierId = Annotated[int, Path(ge=1, le=2**62, description="the supplier's id")]

# -- the workflow (Điều 10.1.a); declared before /content/{content_id} ----------


@router.get("/content/submissions", summary="submissions: a unit sees its own only")
def submissions_list(
    conn: Db,
    user: Submitter,
    paging: Paging,
    state: Annotated[StateName | None, Query()] = None,
    supplier_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    category: Annotated[CategoryCode | None, Query()] = None,
) -> Page[SubmissionOut]:
    filters = SubmissionFilter(state=state, supplier_id=supplier_id, category=category)
    return service_workflow.list_submissions(conn, user, filters, paging)


@router.post("/content/submissions", status_code=201, summary="submit an item (Điều 10.1)")
def submissions_create(
    request: Request, conn: Db, now: Now, user: Submitter, body: SubmissionIn
) -> SubmissionOut:
    actor = user.acting_from(client_address(request))
    return service_workflow.submit(conn, user, actor, body, now)


@router.post(
    "/content/submissions/upload",
    status_code=201,
    summary="submit an item with its file (multipart): the file is archived, its SHA-256 taken",
)
def submissions_upload(
    request: Request,
    conn: Db,
    now: Now,
    user: Submitter,
    store: Store,
    file: UploadFile,
    title: Annotated[str, Form(max_length=300)],
    category: Annotated[str, Form(max_length=40)],
    language: Annotated[str, Form(max_length=10)],
    subcategory: Annotated[str | None, Form(max_length=40)] = None,
    description: Annotated[str, Form(max_length=2000)] = "",
    supplier_id: Annotated[int | None, Form(ge=1, le=2**62)] = None,
) -> SubmissionOut:
    actor = user.acting_from(client_address(request))
    fields = {
        "title": title,
        "category": category,
        "subcategory": subcategory or None,
        "language": language,
        "description": description,
        "supplier_id": supplier_id,
    }

    def upload() -> str:
        return store_upload(
            conn, store, file.file, filename=file.filename, media_type=file.content_type,
            actor=actor, now=now,
        ).sha256  # fmt: skip

    return service_workflow.submit_file(conn, user, actor, fields, upload=upload, now=now)


@router.get("/content/submissions/{submission_id}", summary="one submission with its history")
def submissions_get(conn: Db, user: Submitter, submission_id: SubmissionId) -> SubmissionOut:
    return service_workflow.get_submission(conn, user, submission_id)


@router.post("/content/submissions/{submission_id}/appraise", summary="start appraisal")
def submissions_appraise(
    request: Request,
    conn: Db,
    now: Now,
    user: Appraiser,
    submission_id: SubmissionId,
    body: CommentIn | None = None,
) -> SubmissionOut:
    actor = user.acting_from(client_address(request))
    comment = body.comment if body else ""
    return service_workflow.start_appraisal(
        conn, user, actor, submission_id, now=now, comment=comment
    )


@router.post("/content/submissions/{submission_id}/return", summary="return with comments")
def submissions_return(
    request: Request,
    conn: Db,
    now: Now,
    user: Appraiser,
    submission_id: SubmissionId,
    body: ReturnIn,
) -> SubmissionOut:
    actor = user.acting_from(client_address(request))
    return service_workflow.return_with_comments(
        conn, user, actor, submission_id, now=now, comment=body.comment
    )


@router.post("/content/submissions/{submission_id}/resubmit", summary="resubmit a returned item")
def submissions_resubmit(
    request: Request,
    conn: Db,
    now: Now,
    user: Submitter,
    submission_id: SubmissionId,
    body: ResubmitIn,
) -> SubmissionOut:
    actor = user.acting_from(client_address(request))
    return service_workflow.resubmit(conn, user, actor, submission_id, body=body, now=now)


@router.post(
    "/content/submissions/{submission_id}/approve",
    summary="approve into the registry (boards may show it; it counts as its category's kind)",
)
def submissions_approve(
    request: Request,
    conn: Db,
    now: Now,
    user: Approver,
    submission_id: SubmissionId,
    body: ApproveIn | None = None,
) -> SubmissionOut:
    actor = user.acting_from(client_address(request))
    return service_workflow.approve(
        conn, user, actor, submission_id, body=body or ApproveIn(), now=now
    )


@router.post("/content/submissions/{submission_id}/retire", summary="retire; history kept")
def submissions_retire(
    request: Request,
    conn: Db,
    now: Now,
    user: Approver,
    submission_id: SubmissionId,
    body: CommentIn | None = None,
) -> SubmissionOut:
    actor = user.acting_from(client_address(request))
    comment = body.comment if body else ""
    return service_workflow.retire(conn, user, actor, submission_id, now=now, comment=comment)


@router.get("/content/suppliers", summary="supplying units and their obligations")
def suppliers_list(conn: Db, now: Now, user: Reader) -> list[SupplierOut]:
    return service_suppliers.list_suppliers(conn, user, now)


@router.post("/content/suppliers", status_code=201, summary="add a supplying unit")
def suppliers_create(
    request: Request, conn: Db, now: Now, user: Approver, body: SupplierIn
) -> SupplierOut:
    actor = user.acting_from(client_address(request))
    return service_suppliers.create_supplier(conn, user, actor, body, now)


@router.get("/content/suppliers/{supplier_id}", summary="one supplying unit")
def suppliers_get(conn: Db, now: Now, user: Reader, supplier_id: SupplierId) -> SupplierOut:
    return service_suppliers.get_supplier(conn, user, supplier_id, now)


@router.patch("/content/suppliers/{supplier_id}", summary="change a supplying unit")
def suppliers_patch(
    request: Request,
    conn: Db,
    now: Now,
    user: Approver,
    supplier_id: SupplierId,
    body: SupplierPatch,
) -> SupplierOut:
    actor = user.acting_from(client_address(request))
    return service_suppliers.update_supplier(conn, user, actor, supplier_id, body=body, now=now)


@router.get("/content/overdue", summary="units whose last period ended short (Điều 10.1.b, c)")
def overdue_list(conn: Db, now: Now, user: Reader) -> list[OverdueOut]:
    return service_suppliers.list_overdue(conn, user, now)


# -- the registry ------------------------------------------------------------------


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
