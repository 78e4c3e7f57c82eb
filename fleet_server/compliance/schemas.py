"""The API's response models of broadcast compliance and proof of play."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel

Status = Literal["compliant", "non_compliant", "unknown", "pending", "no_windows", "exempt"]
PlayKind = Literal["propaganda", "advertising", "emergency"]


class ComplianceDay(BaseModel):
    board_id: str
    board_name: str
    site_id: int
    day: date
    status: str
    morning_minutes: float
    afternoon_minutes: float
    total_minutes: float
    advertising_minutes: float
    emergency_minutes: float
    morning_unknown: float
    afternoon_unknown: float
    computed_at: datetime


class Play(BaseModel):
    board_id: str
    content_sha256: str
    started_at: datetime
    ended_at: datetime
    minutes: float
    content_id: str | None
    content_kind: str | None
    content_language: str | None
    title: str | None
    approved: bool
    source: str
