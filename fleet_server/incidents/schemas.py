"""The API's incident models: the queue's rows, one incident with its
timeline, and the bodies of the operator's actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class IncidentOut(BaseModel):
    id: int
    rule: str
    incident_class: str
    severity: str
    state: str
    board_id: str | None
    board_name: str | None
    site_id: int | None
    site_name: str | None
    site_name_en: str | None
    organisation_id: int | None
    parent_id: int | None
    title: str
    details: dict[str, Any]
    flapping: bool
    opened_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolution_note: str | None
    reopen_count: int


class IncidentEvent(BaseModel):
    at: datetime
    kind: str
    actor: str
    note: str | None
    data: dict[str, Any]


class IncidentDetail(IncidentOut):
    events: list[IncidentEvent]


class Note(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class ResolveBody(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="what was done; required")


class CommentBody(BaseModel):
    text: str = Field(min_length=1, max_length=4000)
