"""The content workflow in the console (Điều 10.1): the queue by state
(``/content/submissions``), one item with its history and the actions the
reader's role may take in its state, and the submission form (with the file,
kept in the broadcast archive, or its SHA-256); the supplying units are
``content_suppliers``. Every form goes through the same services as the API
and comes back with a confirmation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from fleet_server.access.pagination import ListParams
from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.forms import Longest, checked
from fleet_server.api.console.web import form_for, page_for, render
from fleet_server.api.deps import Conn, Db, Now, client_address
from fleet_server.content import service_suppliers, service_workflow
from fleet_server.content.categories import BY_CODE, CATEGORIES, SUB_BY_CODE, SUBCATEGORIES
from fleet_server.content.models import LANGUAGES
from fleet_server.content.schemas_workflow import ApproveIn, ResubmitIn, SubmissionIn
from fleet_server.content.storage_workflow import SubmissionFilter
from fleet_server.content.workflow import ACTIONS, STATES, actions_from
from fleet_server.errors import Invalid, RequestError

router = APIRouter(include_in_schema=False)

Submitter = Annotated[Principal, Depends(page_for("content.submit"))]
SubmitForm = Annotated[Principal, Depends(form_for("content.submit"))]
AppraiseForm = Annotated[Principal, Depends(form_for("content.appraise"))]
ApproveForm = Annotated[Principal, Depends(form_for("content.approve"))]
SubmissionId = Annotated[int, Path(ge=1, le=2**62)]
Text = Annotated[str, Form(), Longest(4000)]
PAGE_SIZE = 50


def _category_choices() -> list[tuple[str, str, str, str]]:
    """(value, article, Vietnamese text, English text) of the one select:
    ``category`` or ``local:<point>`` for Điều 7.2's points."""
    choices = []
    for c in CATEGORIES:
        if c.code == "local":
            choices += [(f"local:{s.code}", s.article, s.vi, s.en) for s in SUBCATEGORIES]
        else:
            choices.append((c.code, c.article, c.vi, c.en))
    return choices


def _split(choice: str) -> tuple[str, str | None]:
    category, _, sub = choice.partition(":")
    return category, sub or None


def _done_of(request: Request) -> str:
    """The confirmation to show: an action just done, or none."""
    value = request.query_params.get("done", "")
    return value if value in ACTIONS else ""


def _done(path: str, what: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={what}", status_code=303)


@router.get("/content/submissions")
def queue_page(
    request: Request,
    conn: Db,
    now: Now,
    user: Submitter,
    state: Annotated[str, Query(max_length=20)] = "",
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    return _queue_page(request, conn, now, user, state, offset)


def _queue_page(
    request: Request,
    conn: Conn,
    now: datetime,
    user: Principal,
    state: str = "",
    offset: int = 0,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """The queue and the submission form; after a refusal (``refusal``),
    with what was typed and why."""
    chosen = state if state in STATES else None
    page = service_workflow.list_submissions(
        conn,
        user,
        SubmissionFilter(state=chosen),
        ListParams(limit=PAGE_SIZE, offset=offset, sort=None),
    )
    department = service_workflow.own_supplier(conn, user) is None
    suppliers = service_suppliers.list_suppliers(conn, user, now) if department else []
    return render(
        request,
        "content_workflow.html",
        user,
        {
            "page": page,
            "state": chosen or "",
            "states": STATES,
            "counts": service_workflow.counts(conn, user),
            "categories": _category_choices(),
            "languages": list(LANGUAGES),
            "suppliers": suppliers,
            "department": department,
            "done": _done_of(request),
            **(refusal or {}),
        },
    )


@router.get("/content/submissions/{submission_id}")
def item_page(request: Request, conn: Db, user: Submitter, submission_id: SubmissionId) -> Response:
    return _item_page(request, conn, user, submission_id)


def _item_page(
    request: Request,
    conn: Conn,
    user: Principal,
    submission_id: int,
    refusal: dict[str, Any] | None = None,
) -> Response:
    """A submission and the forms its reader may use; after a refusal
    (``refusal``), with what was typed and why."""
    item = service_workflow.get_submission(conn, user, submission_id)
    possible = set(actions_from(item.state))
    appraiser = user.province_wide and user.can("content.appraise")
    approver = user.province_wide and user.can("content.approve")
    return render(
        request,
        "content_submission.html",
        user,
        {
            "item": item,
            "entry": SUB_BY_CODE.get(item.subcategory or "") or BY_CODE.get(item.category or ""),
            "may": {
                "start_appraisal": appraiser and "start_appraisal" in possible,
                "return": appraiser and "return" in possible,
                "approve": approver and "approve" in possible,
                "retire": approver and "retire" in possible,
                "resubmit": "resubmit" in possible,
            },
            "categories": _category_choices(),
            "languages": list(LANGUAGES),
            "done": _done_of(request),
            **(refusal or {}),
        },
    )


#: The forms' fields -> the label they are shown under.
LABELS = {
    "title": "content.name",
    "category": "workflow.category",
    "subcategory": "workflow.category",
    "language": "content.language",
    "file": "workflow.file",
    "sha256": "workflow.or_sha256",
    "description": "workflow.description",
    "supplier_id": "workflow.supplier",
    "comment": "workflow.comment",
    "name": "workflow.supplier",
    "obligation": "suppliers.obligation",
    "organisation_id": "suppliers.organisation",
    "min_items": "suppliers.min_items",
    "obligation_from": "suppliers.from",
}


def _item_refused(
    request: Request,
    conn: Conn,
    user: Principal,
    submission_id: int,
    exc: RequestError,
    typed: dict[str, Any],
    where: str,
) -> Response:
    """The submission's page again with why its form ``where`` was refused."""
    return forms.refused(
        conn,
        exc,
        typed,
        lambda ctx: _item_page(request, conn, user, submission_id, ctx),
        where,
        LABELS,
    )


def _uploader(request: Request, conn: Db, user: Principal, file: UploadFile) -> Callable[[], str]:
    """Keeps the uploaded file in the broadcast archive (Điều 9.1), by hash."""

    def upload() -> str:
        from fleet_server.api.content_store import file_store  # noqa: PLC0415
        from fleet_server.content.service_files import store_upload  # noqa: PLC0415

        actor = user.acting_from(client_address(request))
        return store_upload(
            conn, file_store(request), file.file, filename=file.filename,
            media_type=file.content_type, actor=actor,
        ).sha256  # fmt: skip

    return upload


def _has(file: UploadFile | None) -> bool:
    return file is not None and bool(file.filename)


@router.post("/content/submissions")
def submit_form(
    request: Request,
    conn: Db,
    now: Now,
    user: SubmitForm,
    title: Annotated[str, Form(), Longest(300)] = "",
    category: Annotated[str, Form(), Longest(60)] = "",
    language: Annotated[str, Form(), Longest(10)] = "",
    sha256: Annotated[str, Form(), Longest(100)] = "",
    description: Text = "",
    supplier_id: Annotated[str, Form(), Longest(20)] = "",
    file: UploadFile | None = None,
) -> Response:
    typed = {
        "title": title,
        "category": category,
        "language": language,
        "sha256": sha256,
        "description": description,
        "supplier_id": supplier_id,
    }
    cat, sub = _split(category)
    fields = {
        "title": title,
        "category": cat,
        "subcategory": sub,
        "language": language,
        "description": description,
        "supplier_id": int(supplier_id) if supplier_id.strip().isdigit() else None,
    }
    try:
        forms.fit(typed)
        actor = user.acting_from(client_address(request))
        if file is not None and _has(file):
            upload = _uploader(request, conn, user, file)
            item = service_workflow.submit_file(conn, user, actor, fields, upload=upload, now=now)
        elif sha256.strip():
            body = checked(SubmissionIn, **fields, sha256=sha256.strip())
            item = service_workflow.submit(conn, user, actor, body, now)
        else:
            raise Invalid("file: choose the file, or give its SHA-256", field="file")
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            typed,
            lambda ctx: _queue_page(request, conn, now, user, refusal=ctx),
            "submit",
            LABELS,
        )
    conn.commit()
    return _done(f"/content/submissions/{item.id}", "submit")


@router.post("/content/submissions/{submission_id}/appraise")
def appraise_form(
    request: Request, conn: Db, now: Now, user: AppraiseForm, submission_id: SubmissionId
) -> Response:
    try:
        actor = user.acting_from(client_address(request))
        service_workflow.start_appraisal(conn, user, actor, submission_id, now=now)
    except RequestError as exc:
        return _item_refused(request, conn, user, submission_id, exc, {}, "appraise")
    conn.commit()
    return _done(f"/content/submissions/{submission_id}", "start_appraisal")


@router.post("/content/submissions/{submission_id}/return")
def return_form(
    request: Request,
    conn: Db,
    now: Now,
    user: AppraiseForm,
    submission_id: SubmissionId,
    comment: Text = "",
) -> Response:
    typed = {"comment": comment}
    try:
        forms.fit(typed)
        actor = user.acting_from(client_address(request))
        service_workflow.return_with_comments(
            conn, user, actor, submission_id, now=now, comment=comment
        )
    except RequestError as exc:
        return _item_refused(request, conn, user, submission_id, exc, typed, "return")
    conn.commit()
    return _done(f"/content/submissions/{submission_id}", "return")


@router.post("/content/submissions/{submission_id}/resubmit")
def resubmit_form(
    request: Request,
    conn: Db,
    now: Now,
    user: SubmitForm,
    submission_id: SubmissionId,
    title: Annotated[str, Form(), Longest(300)] = "",
    sha256: Annotated[str, Form(), Longest(100)] = "",
    comment: Text = "",
    file: UploadFile | None = None,
) -> Response:
    typed = {"title": title, "sha256": sha256, "comment": comment}
    changes: dict[str, Any] = {"comment": comment}
    try:
        forms.fit(typed)
        if title.strip():
            changes["title"] = title
        if file is not None and _has(file):
            service_workflow.get_submission(conn, user, submission_id)  # in scope, before storing
            changes["sha256"] = _uploader(request, conn, user, file)()
        elif sha256.strip():
            changes["sha256"] = sha256.strip()
        body = checked(ResubmitIn, **changes)
        actor = user.acting_from(client_address(request))
        service_workflow.resubmit(conn, user, actor, submission_id, body=body, now=now)
    except RequestError as exc:
        return _item_refused(request, conn, user, submission_id, exc, typed, "resubmit")
    conn.commit()
    return _done(f"/content/submissions/{submission_id}", "resubmit")


@router.post("/content/submissions/{submission_id}/approve")
def approve_form(
    request: Request,
    conn: Db,
    now: Now,
    user: ApproveForm,
    submission_id: SubmissionId,
    comment: Text = "",
) -> Response:
    typed = {"comment": comment}
    try:
        forms.fit(typed)
        actor = user.acting_from(client_address(request))
        body = checked(ApproveIn, comment=comment)
        service_workflow.approve(conn, user, actor, submission_id, body=body, now=now)
    except RequestError as exc:
        return _item_refused(request, conn, user, submission_id, exc, typed, "approve")
    conn.commit()
    return _done(f"/content/submissions/{submission_id}", "approve")


@router.post("/content/submissions/{submission_id}/retire")
def retire_form(
    request: Request,
    conn: Db,
    now: Now,
    user: ApproveForm,
    submission_id: SubmissionId,
    comment: Text = "",
) -> Response:
    typed = {"comment": comment}
    try:
        forms.fit(typed)
        actor = user.acting_from(client_address(request))
        service_workflow.retire(conn, user, actor, submission_id, now=now, comment=comment)
    except RequestError as exc:
        return _item_refused(request, conn, user, submission_id, exc, typed, "retire")
    conn.commit()
    return _done(f"/content/submissions/{submission_id}", "retire")
