"""The API's models of the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class AuditEntry(BaseModel):
    id: int
    at: datetime
    #: A username, or 'system:<role>' / 'engine:<rule>' for the server itself.
    actor: str
    actor_user_id: int | None
    action: str
    target_type: str | None
    target_id: str | None
    address: str | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    detail: str | None


class AuditFilters(BaseModel):
    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    address: str | None = None
