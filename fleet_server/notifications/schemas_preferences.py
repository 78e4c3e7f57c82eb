"""The API's models of a person's notification preferences
(``/api/v1/me/notification-preferences``) and of an SMS gateway's delivery
report."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from fleet_server.notifications.channels.vietnam import normalize_phone
from fleet_server.notifications.models import PersonChannel
from fleet_server.vocabulary import Severity

TELEGRAM_CHAT = r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$"


class QuietHours(BaseModel):
    """Vietnam time; ``start`` after ``end`` spans midnight (22:00–06:00)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _distinct(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet hours: start and end must differ")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("quiet hours are Vietnam time: give them without a zone")
        return self


class PreferencesIn(BaseModel):
    #: The fallback chain, first choice first.
    channels: list[PersonChannel] = Field(min_length=1, max_length=4)
    #: Critical is always delivered and must be listed.
    severities: list[Severity] = Field(min_length=1, max_length=4)
    quiet_hours: QuietHours | None = None
    #: A Vietnamese mobile number (0912 345 678, +84…); stored as 84…
    phone: str | None = Field(default=None, max_length=30)
    telegram_chat_id: str | None = Field(default=None, max_length=40, pattern=TELEGRAM_CHAT)
    #: "I agree to receive Zalo ZNS messages at this number."
    zalo_consent: bool = False

    @field_validator("channels", "severities")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each value once")
        return value

    @field_validator("severities")
    @classmethod
    def _critical(cls, value: list[str]) -> list[str]:
        if "critical" not in value:
            raise ValueError("critical notices are always delivered: keep critical")
        return value

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return normalize_phone(value) if value and value.strip() else None


class PreferencesOut(BaseModel):
    #: The contact notices to you go to (null until you first save).
    contact_id: int | None
    channels: list[PersonChannel]
    severities: list[Severity]
    quiet_hours: QuietHours | None
    timezone: Literal["Asia/Ho_Chi_Minh"] = "Asia/Ho_Chi_Minh"
    #: Your account's e-mail address (changed by an administrator).
    email: str | None
    phone: str | None
    telegram_chat_id: str | None
    zalo_consent: bool
    zalo_consent_at: datetime | None
    updated_at: datetime | None


class DeliveryReportIn(BaseModel):
    """What the SMS gateway reports (docs/notifications.md, "SMS")."""

    request_id: str | None = Field(default=None, max_length=50)
    message_id: str | None = Field(default=None, max_length=200)
    status: Literal["delivered", "failed", "expired", "rejected"]
    error: str | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _named(self) -> DeliveryReportIn:
        if not self.request_id and not self.message_id:
            raise ValueError("a delivery report names request_id or message_id")
        return self


class DeliveryReportOut(BaseModel):
    #: notices settled by the report (0: unknown, or no longer waiting)
    matched: int
