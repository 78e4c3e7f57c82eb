"""The API's response models of broadcast compliance and proof of play."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

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
    #: for an ``exempt`` day: the emergency order that exempts it (Điều 8.2)
    exempt_order_id: int | None = None
    #: Điều 8.3: approved advertising as a share of the day's minutes on air
    #: (``total_minutes``), in percent; null when nothing was on air
    advertising_share_percent: float | None = None
    #: the ceiling the day was judged with (a setting, not the regulation's)
    advertising_ceiling_percent: float | None = None
    #: where that ceiling came from: ``fleet``, ``organisation:<code>`` or ``site:<code>``
    advertising_ceiling_from: str | None = None
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


NO_NUL = r"^[^\x00]*$"


class EmergencyOrderIn(BaseModel):
    """An order of a competent authority to broadcast emergency information
    (Điều 8.2): who ordered it, by which document, when and where it applies."""

    authority: str = Field(min_length=1, max_length=300, pattern=NO_NUL)
    document_number: str = Field(min_length=1, max_length=100, pattern=NO_NUL)
    document_date: date
    summary: str = Field(default="", max_length=2000, pattern=NO_NUL)
    starts_at: datetime
    ends_at: datetime
    #: every site of the province; otherwise the sites and boards listed
    all_sites: bool = False
    site_ids: list[int] = Field(default_factory=list, max_length=5000)
    board_ids: list[str] = Field(default_factory=list, max_length=10000)

    @model_validator(mode="after")
    def _sane(self) -> EmergencyOrderIn:
        if self.starts_at.tzinfo is None or self.ends_at.tzinfo is None:
            raise ValueError("starts_at/ends_at: give a time zone (e.g. +07:00)")
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if not (self.all_sites or self.site_ids or self.board_ids):
            raise ValueError("name the sites or boards the order covers, or all_sites")
        if not self.authority.strip() or not self.document_number.strip():
            raise ValueError("authority and document_number must not be blank")
        return self


class EmergencyOrderOut(BaseModel):
    id: int
    authority: str
    document_number: str
    document_date: date
    summary: str
    starts_at: datetime
    ends_at: datetime
    all_sites: bool
    site_ids: list[int]
    board_ids: list[str]
    created_by: str
    created_at: datetime
    revoked_by: str | None
    revoked_at: datetime | None
    revoke_reason: str | None
    #: compliance days this order exempts now
    exempt_days: int


class RevokeIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=NO_NUL)
