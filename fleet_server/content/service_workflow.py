"""The content workflow (Điều 10.1.a): a supplying unit submits, the
Department appraises, then approves into the registry or returns it with
comments; the unit resubmits; an item is retired with its history kept.

Each step is one transaction with its history row (shown on the item) and its
audit row (Điều 9.2). Who may do what:

* ``content.submit``: a supplying unit's account (role ``supplier``, or an
  account of an organisation linked to a supplier) submits and resubmits for
  its own unit and sees only its own unit's submissions; the Department's
  accounts (province-wide) submit on a unit's behalf or as the Department;
* ``content.appraise`` on a province-wide account (the Department: Điều 10.1.a
  "Chủ trì tiếp nhận thông tin, thẩm định, biên tập"): start appraisal, return;
* ``content.approve`` (administrators of the Department): approve, retire.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.content import service_history, storage, storage_suppliers
from fleet_server.content import storage_workflow as store
from fleet_server.content.categories import article_of, classify
from fleet_server.content.models import ContentError, NewContent
from fleet_server.content.schemas_workflow import (
    ApproveIn,
    ResubmitIn,
    SubmissionIn,
    SubmissionOut,
)
from fleet_server.content.service_history import record
from fleet_server.content.storage import Conn
from fleet_server.content.storage_workflow import SubmissionFilter
from fleet_server.content.workflow import Action, next_state
from fleet_server.errors import Forbidden, Invalid, NotFound

#: A supplying unit's account not linked to any unit sees nothing.
_NOBODY = -1


def sees_all(user: Principal) -> bool:
    """The Department's accounts see every submission."""
    return user.province_wide and (user.can("content.appraise") or user.can("content.read"))


def own_supplier(conn: Conn, user: Principal) -> int | None:
    """The unit ``user`` submits for, None for the Department's accounts;
    -1 for an account linked to no unit."""
    if sees_all(user):
        return None
    found = storage_suppliers.of_organisation(conn, user.organisation_id)
    return _NOBODY if found is None else int(found["id"])


def _with_history(conn: Conn, item: SubmissionOut) -> SubmissionOut:
    return item.model_copy(
        update={
            "history": store.history(conn, item.id),
            "article": article_of(item.category, item.subcategory),
        }
    )


def list_submissions(
    conn: Conn, user: Principal, filters: SubmissionFilter, paging: ListParams
) -> Page[SubmissionOut]:
    user.need("content.submit")
    mine = own_supplier(conn, user)
    found = store.page(
        conn,
        SubmissionFilter(filters.state, filters.supplier_id, filters.category, mine),
        paging,
    )
    found.items = [
        i.model_copy(update={"article": article_of(i.category, i.subcategory)}) for i in found.items
    ]
    return found


def counts(conn: Conn, user: Principal) -> dict[str, int]:
    return store.counts_by_state(conn, own_supplier(conn, user))


def _load(conn: Conn, user: Principal, submission_id: int, *, lock: bool) -> SubmissionOut:
    item = store.get(conn, submission_id, lock=lock)
    mine = own_supplier(conn, user)
    if item is None or (mine is not None and item.supplier_id != mine):
        raise NotFound("content submission", submission_id)
    return item


def get_submission(conn: Conn, user: Principal, submission_id: int) -> SubmissionOut:
    user.need("content.submit")
    return _with_history(conn, _load(conn, user, submission_id, lock=False))


def _appraiser(user: Principal, capability: str) -> None:
    user.need(capability)
    if not user.province_wide:
        raise Forbidden("appraisal and approval are the provincial Department's (Điều 10.1.a)")


def _fields(category: str, subcategory: str | None) -> dict[str, Any]:
    entry = classify(category, subcategory)
    return {"category": category, "subcategory": subcategory, "kind": entry.kind}


def submit(
    conn: Conn, user: Principal, actor: Actor, body: SubmissionIn, now: datetime
) -> SubmissionOut:
    """A new submission, in state ``submitted``."""
    user.need("content.submit")
    mine = own_supplier(conn, user)
    if mine == _NOBODY:
        raise Forbidden("this account is not linked to a supplying unit: ask the Department")
    supplier_id = body.supplier_id if mine is None else mine
    if mine is not None and body.supplier_id not in (None, mine):
        raise Forbidden("a supplying unit submits for itself only")
    if supplier_id is not None and storage_suppliers.get(conn, supplier_id) is None:
        raise Invalid(f"supplier_id: no supplier {supplier_id}", field="supplier_id")
    fields = {
        **body.model_dump(exclude={"category", "subcategory", "supplier_id"}),
        **_fields(body.category, body.subcategory),
        "title": body.title.strip(),
        "supplier_id": supplier_id,
    }
    with conn.transaction():
        new_id = store.insert(conn, fields, "submitted", actor.username, now)
        record(
            conn,
            actor,
            new_id,
            "submit",
            before=None,
            after="submitted",
            now=now,
            sha256=body.sha256,
            changes={k: fields[k] for k in ("title", "category", "subcategory", "sha256")},
        )
    return get_submission(conn, user, new_id)


def submit_file(
    conn: Conn,
    user: Principal,
    actor: Actor,
    fields: dict[str, Any],
    *,
    upload: Callable[[], str],
    now: datetime,
) -> SubmissionOut:
    """Submit with the file itself: ``fields`` are checked first (as
    SubmissionIn without the hash), then ``upload`` keeps the file in the
    broadcast archive (Điều 9.1) and gives its SHA-256."""
    user.need("content.submit")
    if own_supplier(conn, user) == _NOBODY:
        raise Forbidden("this account is not linked to a supplying unit: ask the Department")
    try:
        body = SubmissionIn.model_validate({**fields, "sha256": "0" * 64})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or "body"
        raise Invalid(f"{field}: {first.get('msg', 'invalid')}", field=field) from None
    return submit(conn, user, actor, body.model_copy(update={"sha256": upload()}), now)


def _step(
    conn: Conn,
    user: Principal,
    actor: Actor,
    submission_id: int,
    *,
    action: Action,
    now: datetime,
    comment: str = "",
) -> SubmissionOut:
    """A transition that changes only the state."""
    with conn.transaction():
        item = _load(conn, user, submission_id, lock=True)
        target = next_state(action, item.state, submission_id)
        store.update(conn, submission_id, target, now)
        record(
            conn,
            actor,
            submission_id,
            action,
            before=item.state,
            after=target,
            now=now,
            comment=comment,
        )
    return get_submission(conn, user, submission_id)


def start_appraisal(
    conn: Conn,
    user: Principal,
    actor: Actor,
    submission_id: int,
    *,
    now: datetime,
    comment: str = "",
) -> SubmissionOut:
    _appraiser(user, "content.appraise")
    return _step(
        conn, user, actor, submission_id, action="start_appraisal", now=now, comment=comment.strip()
    )


def return_with_comments(
    conn: Conn, user: Principal, actor: Actor, submission_id: int, *, now: datetime, comment: str
) -> SubmissionOut:
    _appraiser(user, "content.appraise")
    if not comment.strip():
        raise Invalid("comment: say what to change before it can be approved", field="comment")
    return _step(
        conn, user, actor, submission_id, action="return", now=now, comment=comment.strip()
    )


def resubmit(
    conn: Conn,
    user: Principal,
    actor: Actor,
    submission_id: int,
    *,
    body: ResubmitIn,
    now: datetime,
) -> SubmissionOut:
    """The unit's corrected item, back to ``submitted``."""
    user.need("content.submit")
    changes = body.model_dump(exclude_unset=True, exclude={"comment"})
    with conn.transaction():
        item = _load(conn, user, submission_id, lock=True)
        target = next_state("resubmit", item.state, submission_id)
        category = changes.get("category", item.category)
        if category is None:
            raise Invalid("category: choose the Điều 7 category", field="category")
        sub = changes.get("subcategory", item.subcategory)
        if "category" in changes and "subcategory" not in changes and category != "local":
            sub = None
        changes.update(_fields(category, sub))
        if "title" in changes and changes["title"] is not None:
            changes["title"] = changes["title"].strip()
        changes = {k: v for k, v in changes.items() if v is not None or k == "subcategory"}
        store.update(conn, submission_id, target, now, changes)
        record(
            conn,
            actor,
            submission_id,
            "resubmit",
            before=item.state,
            after=target,
            now=now,
            comment=body.comment.strip(),
            sha256=changes.get("sha256", item.sha256),
            changes={k: v for k, v in changes.items() if k != "kind"},
        )
    return get_submission(conn, user, submission_id)


def approve(
    conn: Conn, user: Principal, actor: Actor, submission_id: int, *, body: ApproveIn, now: datetime
) -> SubmissionOut:
    """Into the registry: from now on boards may show the file and its
    minutes count as its category's kind (Điều 8)."""
    _appraiser(user, "content.approve")
    with conn.transaction():
        item = _load(conn, user, submission_id, lock=True)
        target = next_state("approve", item.state, submission_id)
        new = NewContent(
            title=item.title,
            kind=item.kind,
            language=item.language,
            sha256=item.sha256,
            valid_from=body.valid_from or now,
            valid_to=body.valid_to,
            from_department=(
                item.supplier_id is None if body.from_department is None else body.from_department
            ),
        ).checked()
        stored = storage.insert(conn, new, actor.username, now)
        if stored is None:
            existing = storage.by_sha256(conn, item.sha256)
            raise ContentError(
                "duplicate",
                f"sha256: this file is already in the registry (content"
                f" {existing.id if existing else '?'}); return the submission instead",
                field="sha256",
            )
        storage.audit_change(conn, actor, "content.approve", stored.id, after=stored.audit_view())
        store.update(conn, submission_id, target, now, content_id=stored.id)
        record(
            conn,
            actor,
            submission_id,
            "approve",
            before=item.state,
            after=target,
            now=now,
            comment=body.comment.strip(),
            sha256=item.sha256,
            changes={"content_id": stored.id},
        )
    return get_submission(conn, user, submission_id)


def retire(
    conn: Conn,
    user: Principal,
    actor: Actor,
    submission_id: int,
    *,
    now: datetime,
    comment: str = "",
) -> SubmissionOut:
    """An approved item leaves the registry (its validity ends now); a
    returned one is closed. The row and its history stay (Điều 9.1)."""
    _appraiser(user, "content.approve")
    with conn.transaction():
        item = _load(conn, user, submission_id, lock=True)
        target = next_state("retire", item.state, submission_id)
        if item.content_id is not None:
            current = storage.get(conn, item.content_id, lock=True)
            if current is not None and (current.valid_to is None or current.valid_to > now):
                service_history.end_validity(conn, actor, current, now)
        store.update(conn, submission_id, target, now)
        record(
            conn,
            actor,
            submission_id,
            "retire",
            before=item.state,
            after=target,
            now=now,
            comment=comment,
        )
    return get_submission(conn, user, submission_id)
