"""The API's models of boards: the list, one board with its latest readings,
cameras, open incidents and connectivity history, and the inventory patch
(with the board's tags)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator

from fleet_server.incidents.schemas import IncidentOut

#: Connectivity states a list may be filtered by.
State = Literal["online", "offline", "lost", "stale", "unknown"]

#: A board tag (migration 0043 holds the same bounds): a short lowercase word.
TAG_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
#: Tags one board may carry.
MAX_TAGS = 16
Tag = Annotated[str, Field(pattern=TAG_PATTERN)]


class BoardOut(BaseModel):
    id: str
    name: str
    site_id: int
    site_code: str
    site_name: str
    site_name_en: str | None
    organisation_id: int
    organisation_code: str
    model: str | None
    serial: str | None
    installed_on: date | None
    enabled: bool
    tags: list[str]
    state: str
    state_reason: str | None
    state_since: datetime | None
    last_seen_at: datetime | None
    open_incidents: int
    cameras: int


class Latest(BaseModel):
    measured_at: datetime
    received_at: datetime
    data: dict[str, Any]


class StatusChange(BaseModel):
    at: datetime
    state: str
    previous: str | None
    reason: str | None


class BoardCamera(BaseModel):
    camera_id: str
    name: str
    reachable: bool | None
    status: str | None
    latency_ms: float | None
    measured_at: datetime | None


class BoardDetail(BoardOut):
    heartbeat_interval_s: int
    latest: dict[str, Latest]
    camera_list: list[BoardCamera]
    incidents: list[IncidentOut]
    history: list[StatusChange]


class BoardPatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    model: str | None = Field(default=None, max_length=100)
    serial: str | None = Field(default=None, max_length=100)
    installed_on: date | None = None
    heartbeat_interval_s: int | None = Field(default=None, ge=5, le=86_400)
    #: the whole set of tags (replaces the board's; [] removes them all)
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)

    @field_validator("tags")
    @classmethod
    def _one_of_each(cls, tags: list[str] | None) -> list[str] | None:
        """Sorted, each once: the audit's before and after compare as sets."""
        return None if tags is None else sorted(set(tags))
