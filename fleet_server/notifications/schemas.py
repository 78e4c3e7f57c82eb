"""The API's request and response models for notification contacts and routes.

A contact's webhook secret is write-only: answers only say ``has_webhook_secret``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from fleet_server.notifications.channels.vietnam import normalize_phone
from fleet_server.notifications.models import Channel, ContactKind, check_webhook_url
from fleet_server.users.models import check_email
from fleet_server.vocabulary import IncidentClass, Language, Severity

MAX_ID = 2**62
NO_NUL = r"^[^\x00]*$"
TELEGRAM_CHAT = r"^(-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{4,31})$"
KIND_PATTERN = r"^[a-z0-9_*?\[\]!-]{1,100}$"


class ContactOut(BaseModel):
    id: int
    organisation_id: int | None
    kind: ContactKind
    name: str
    email: str | None
    webhook_url: str | None
    #: The secret itself is never returned.
    has_webhook_secret: bool
    #: 84 and nine digits (SMS, Zalo); a Telegram chat id
    phone: str | None = None
    telegram_chat_id: str | None = None
    #: when the person agreed to receive Zalo ZNS (they record it themselves)
    zalo_consent_at: datetime | None = None
    #: the account the contact belongs to (its person edits its preferences)
    user_id: int | None = None
    language: Language
    active: bool
    created_at: datetime
    updated_at: datetime


class _ContactFields(BaseModel):
    @field_validator("email", check_fields=False)
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        return check_email(value)

    @field_validator("webhook_url", check_fields=False)
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_webhook_url(value)

    @field_validator("phone", check_fields=False)
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        return None if value is None else normalize_phone(value)


class ContactIn(_ContactFields):
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: ContactKind = "person"
    name: str = Field(min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    webhook_url: str | None = Field(default=None, max_length=2000)
    #: Signs every webhook (HMAC); write-only.
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200, pattern=NO_NUL)
    phone: str | None = Field(default=None, max_length=30)
    telegram_chat_id: str | None = Field(default=None, max_length=40, pattern=TELEGRAM_CHAT)
    language: Language = "vi"
    active: bool = True

    @model_validator(mode="after")
    def _reachable(self) -> ContactIn:
        if not (self.email or self.webhook_url or self.phone or self.telegram_chat_id):
            raise ValueError(
                "a contact needs an email, a webhook_url, a phone or a telegram_chat_id"
            )
        if self.webhook_url is not None and self.webhook_secret is None:
            raise ValueError("webhook_secret is required with webhook_url (webhooks are signed)")
        if not self.name.strip():
            raise ValueError("name must not be blank")
        return self


class ContactPatch(_ContactFields):
    """Only the fields given change; ``null`` clears email or webhook_url
    (clearing the URL drops the secret too)."""

    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    kind: ContactKind | None = None
    name: str | None = Field(default=None, min_length=1, max_length=200, pattern=NO_NUL)
    email: str | None = Field(default=None, max_length=254)
    webhook_url: str | None = Field(default=None, max_length=2000)
    webhook_secret: str | None = Field(default=None, min_length=16, max_length=200, pattern=NO_NUL)
    phone: str | None = Field(default=None, max_length=30)
    telegram_chat_id: str | None = Field(default=None, max_length=40, pattern=TELEGRAM_CHAT)
    language: Language | None = None
    active: bool | None = None


class RouteOut(BaseModel):
    id: int
    #: Filters (null: any): the notice's organisation, site, class and kinds.
    organisation_id: int | None
    site_id: int | None
    incident_class: IncidentClass | None
    incident_kinds: list[str] | None
    min_severity: Severity
    channel: Channel
    contact_id: int
    contact_name: str
    #: 0: normal recipients; 1: escalation list, only for escalated notices.
    escalation_level: int
    active: bool
    note: str | None
    created_at: datetime


Kinds = list[Annotated[str, Field(pattern=KIND_PATTERN)]]


class RouteIn(BaseModel):
    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    incident_class: IncidentClass | None = None
    incident_kinds: Kinds | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="shell-style patterns on the incident kind, e.g. camera*",
    )
    min_severity: Severity = "warning"
    channel: Channel
    contact_id: int = Field(ge=1, le=MAX_ID)
    escalation_level: Literal[0, 1] = 0
    active: bool = True
    note: str | None = Field(default=None, max_length=500, pattern=NO_NUL)


class RoutePatch(BaseModel):
    """Only the fields given change; ``null`` clears a filter (any)."""

    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    incident_class: IncidentClass | None = None
    incident_kinds: Kinds | None = Field(default=None, min_length=1, max_length=20)
    min_severity: Severity | None = None
    channel: Channel | None = None
    contact_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    escalation_level: Literal[0, 1] | None = None
    active: bool | None = None
    note: str | None = Field(default=None, max_length=500, pattern=NO_NUL)
