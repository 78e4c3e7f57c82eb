"""Registry changes with their audit rows, each in one transaction: the API
and the CLI both come through here (Điều 9.2: no change without its row)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor
from fleet_server.content import service_history, storage
from fleet_server.content.models import (
    ContentError,
    ContentItem,
    NewContent,
    check_aware,
    check_title,
    check_validity,
)
from fleet_server.content.schemas import ContentOut
from fleet_server.content.storage import Conn, Filters


def _missing(content_id: int) -> ContentError:
    return ContentError("not_found", f"content {content_id} not found")


def out(conn: Conn, item: ContentItem) -> ContentOut:
    """An item as the API shows it, with whether a board has played it."""
    return ContentOut(
        **{k: getattr(item, k) for k in ContentOut.model_fields if k != "played"},
        played=storage.played(conn, item.sha256),
    )


def list_content(conn: Conn, paging: ListParams, filters: Filters) -> Page[ContentOut]:
    """One page of the registry (province-wide: not narrowed by site)."""
    return storage.page(conn, filters, paging, model=ContentOut)


def get_content(conn: Conn, content_id: int) -> ContentOut:
    item = storage.get(conn, content_id)
    if item is None:
        raise _missing(content_id)
    return out(conn, item)


def approve(
    conn: Conn, item: NewContent, actor: Actor, now: datetime, *, detail: str | None = None
) -> ContentItem:
    """Add a file to the registry; ``actor`` is its approver."""
    item = item.checked()
    with conn.transaction():
        stored = storage.insert(conn, item, actor.username, now)
        if stored is None:
            existing = storage.by_sha256(conn, item.sha256)
            ident = existing.id if existing else "?"
            raise ContentError(
                "duplicate",
                f"sha256: this file is already approved (content {ident})",
                field="sha256",
            )
        storage.audit_change(
            conn, actor, "content.approve", stored.id, after=stored.audit_view(), detail=detail
        )
        service_history.registry_approved(conn, actor, stored, now)
    return stored


def update(conn: Conn, content_id: int, changes: dict[str, Any], actor: Actor) -> ContentItem:
    """Change an item's title, validity or department flag. ``changes`` holds
    only what the caller sent; ``valid_to`` may be None (no end)."""
    unknown = set(changes) - set(storage.CHANGEABLE)
    if unknown:
        field = sorted(unknown)[0]
        raise ContentError("invalid", f"{field}: cannot be changed", field=field)
    if not changes:
        raise ContentError("invalid", "nothing to change: send at least one field")
    if "title" in changes:
        changes["title"] = check_title(changes["title"] or "")
    if "valid_from" in changes:
        if changes["valid_from"] is None:
            raise ContentError("invalid", "valid_from: cannot be emptied", field="valid_from")
        check_aware("valid_from", changes["valid_from"])
    if "from_department" in changes and changes["from_department"] is None:
        raise ContentError(
            "invalid", "from_department: must be true or false", field="from_department"
        )
    with conn.transaction():
        before = storage.get(conn, content_id, lock=True)
        if before is None:
            raise _missing(content_id)
        check_validity(
            changes.get("valid_from", before.valid_from), changes.get("valid_to", before.valid_to)
        )
        after = storage.update(conn, content_id, changes)
        view_before, view_after = before.audit_view(), after.audit_view()
        storage.audit_change(
            conn,
            actor,
            "content.update",
            content_id,
            before={k: view_before[k] for k in changes},
            after={k: view_after[k] for k in changes},
        )
    return after


def retire(conn: Conn, content_id: int, actor: Actor, at: datetime) -> ContentItem:
    """End an item's validity at ``at`` (now, usually). A board still showing
    it afterwards raises the security incident. The row stays: it is the
    record of what was approved when (Điều 9.1)."""
    check_aware("at", at)
    with conn.transaction():
        before = storage.get(conn, content_id, lock=True)
        if before is None:
            raise _missing(content_id)
        if before.valid_to is not None and before.valid_to <= at:
            raise ContentError(
                "retired",
                f"content {content_id} is already retired (valid until"
                f" {before.valid_to.isoformat()})",
            )
        if at <= before.valid_from:
            raise ContentError(
                "invalid",
                f"at: content {content_id} only becomes valid at {before.valid_from.isoformat()};"
                " retire it after that, or delete it if no board has played it",
                field="at",
            )
        after = service_history.end_validity(conn, actor, before, at)
        service_history.registry_retired(conn, actor, content_id, at)
    return after


def delete(conn: Conn, content_id: int, actor: Actor) -> ContentItem:
    """Remove an item approved by mistake. Refused once a board has played
    its file: the approval is then part of the proof of play (retire it)."""
    with conn.transaction():
        before = storage.get(conn, content_id, lock=True)
        if before is None:
            raise _missing(content_id)
        if storage.played(conn, before.sha256):
            raise ContentError(
                "played",
                f"content {content_id} has been shown on a board and is kept as the record of"
                " its approval; retire it instead",
            )
        service_history.registry_retired(conn, actor, content_id, datetime.now(UTC))
        storage.delete(conn, content_id)
        storage.audit_change(conn, actor, "content.delete", content_id, before=before.audit_view())
    return before
