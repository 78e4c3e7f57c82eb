"""A submission's history row and its audit row, written together; and the
registry's direct changes (``content add|retire``, ``POST /content``) mirrored
on the workflow, so every registry item has a submission with its history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet_server.access import audit
from fleet_server.access.principal import Actor
from fleet_server.content import storage
from fleet_server.content import storage_workflow as store
from fleet_server.content.models import ContentItem, check_aware
from fleet_server.content.storage import Conn
from fleet_server.errors import Conflict


def record(
    conn: Conn,
    actor: Actor,
    submission_id: int,
    action: str,
    *,
    before: str | None,
    after: str,
    now: datetime,
    comment: str = "",
    sha256: str | None = None,
    changes: dict[str, Any] | None = None,
) -> None:
    store.add_event(
        conn,
        submission_id,
        at=now,
        actor=actor.username,
        action=action,
        from_state=before,
        to_state=after,
        comment=comment,
        sha256=sha256,
    )
    audit.record(
        conn,
        actor,
        f"content.submission.{action}",
        target_type="content_submission",
        target_id=submission_id,
        before=None if before is None else {"state": before},
        after={"state": after, **(changes or {})},
        detail=comment or None,
    )


def end_validity(conn: Conn, actor: Actor, item: ContentItem, at: datetime) -> ContentItem:
    """End a registry item's validity at ``at`` (audited); Conflict when it
    has already ended or only starts later."""
    check_aware("at", at)
    if item.valid_to is not None and item.valid_to <= at:
        raise Conflict(f"content {item.id} is already retired (valid until {item.valid_to})")
    if at <= item.valid_from:
        raise Conflict(
            f"content {item.id} only becomes valid at {item.valid_from.isoformat()}:"
            " retire it after that"
        )
    after = storage.update(conn, item.id, {"valid_to": at})
    storage.audit_change(
        conn,
        actor,
        "content.retire",
        item.id,
        before={"valid_to": item.audit_view()["valid_to"]},
        after={"valid_to": after.audit_view()["valid_to"]},
    )
    return after


def registry_retired(conn: Conn, actor: Actor, content_id: int, now: datetime) -> None:
    """The registry item was retired directly (``content retire``): its
    submission follows."""
    item = store.by_content(conn, content_id)
    if item is not None and item.state == "approved":
        store.update(conn, item.id, "retired", now)
        record(conn, actor, item.id, "retire", before=item.state, after="retired", now=now)


def registry_approved(conn: Conn, actor: Actor, item: ContentItem, now: datetime) -> None:
    """An item approved directly in the registry (the Department's own, the
    CLI, a CSV import) is an approved submission of the Department too."""
    fields = {
        "title": item.title,
        "kind": item.kind,
        "language": item.language,
        "sha256": item.sha256,
        "content_id": item.id,
    }
    new_id = store.insert(conn, fields, "approved", actor.username, now)
    record(
        conn,
        actor,
        new_id,
        "approve",
        before=None,
        after="approved",
        now=now,
        comment="approved directly in the registry",
        sha256=item.sha256,
        changes={"content_id": item.id},
    )
