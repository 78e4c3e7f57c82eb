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
    #: minutes that count in the morning window (Điều 8.1: approved
    #: propaganda or emergency information on a screen that is on)
    morning_minutes: float
    afternoon_minutes: float
    #: on air over the day, whatever was shown
    total_minutes: float
    #: approved advertising (Điều 8.3; never counted toward 8.1)
    advertising_minutes: float
    emergency_minutes: float
    morning_unknown: float
    afternoon_unknown: float
    #: over the day: the minutes that count toward Điều 8.1
    counted_minutes: float
    #: on air with a file the registry did not approve at that moment
    unapproved_minutes: float
    #: on air with no file hash reported
    unidentified_minutes: float
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
