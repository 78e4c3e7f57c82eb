"""Types of the notification package: what the engine says (``Notice``), who
receives it (``Route``, ``Recipient``), what a worker sends (``OutgoingMessage``),
the settings the worker is built from, and the rules a contact's addresses
follow.

Database rows, wire payloads and these types are kept apart: ``Notice`` is
turned into the outbox's ``payload`` by ``to_payload`` and never stored as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, get_args
from urllib.parse import urlsplit

from fleet_server.errors import ConfigError, FleetError
from fleet_server.vocabulary import SEVERITIES, IncidentClass, Language, Severity

if TYPE_CHECKING:
    from fleet_server.notifications.channels.settings import (
        SmsSettings,
        TelegramSettings,
        ZaloSettings,
    )

NoticeKind = Literal[
    "incident_opened",
    "incident_resolved",
    "incident_reminder",
    "incident_escalated",
    "ticket_assigned",
    "ticket_due",
    "ticket_overdue",
    "ticket_escalated",
    "site_incident",
    "report_deadline",
    "content_overdue",
]
Channel = Literal["email", "webhook", "telegram", "sms", "zalo"]
#: The channels a person reaches in person, which a fallback chain orders.
PersonChannel = Literal["email", "telegram", "sms", "zalo"]
ContactKind = Literal["person", "duty_desk"]
DetailValue = str | int | float | bool | None

NOTICE_KINDS: tuple[NoticeKind, ...] = get_args(NoticeKind)
CHANNELS: tuple[Channel, ...] = get_args(Channel)
PERSON_CHANNELS: tuple[PersonChannel, ...] = get_args(PersonChannel)


def severity_rank(severity: Severity) -> int:
    """Higher is more severe: warning 0 … critical 3."""
    return len(SEVERITIES) - 1 - SEVERITIES.index(severity)


# -- a contact's addresses --------------------------------------------------------
# The checks raise ValueError: they run as pydantic validators of the API's
# models (schemas.py), which answer it as a validation error.


def check_webhook_url(value: str | None) -> str | None:
    """An absolute http(s) URL with a host, nothing else."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > 2000 or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("not a URL (too long, or it contains spaces or control characters)")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises on a port that is not a number in range
    except ValueError:
        raise ValueError("not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("the webhook URL must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("the webhook URL has no host")
    return value


class DeliveryError(FleetError):
    """A transport could not hand a message over.

    ``permanent`` errors (no address, recipient refused for good) are not
    retried; everything else is retried until the notice's maximum age.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Text:
    """A text in Vietnamese and, optionally, English (Vietnamese is the fallback)."""

    vi: str
    en: str | None = None

    def get(self, language: Language) -> str:
        return self.en if language == "en" and self.en else self.vi


@dataclass(frozen=True, slots=True)
class Notice:
    """What the engine wants to tell people. Routing decides who hears it.

    ``dedup_key`` names the event (e.g. ``"incident:42:reminder:3"``); enqueueing
    the same key twice queues nothing the second time. Without it the key is
    built from kind, incident, ticket, escalation level and ``occurred_at``.
    ``contact_ids`` are delivered to directly (e.g. the technician a ticket was
    assigned to), over every channel they have, in addition to the routes.
    """

    kind: NoticeKind
    severity: Severity
    title: Text
    occurred_at: datetime
    organisation_id: int | None = None
    site_id: int | None = None
    board_id: str | None = None
    incident_id: int | None = None
    ticket_id: int | None = None
    incident_class: IncidentClass | None = None
    incident_kind: str | None = None  # the engine's code, e.g. "camera_unreachable"
    escalation_level: int = 0  # 0 normal recipients, 1 also the escalation list
    summary: Text = Text("")
    site_name: Text | None = None
    board_name: str | None = None
    details: Mapping[str, DetailValue] = field(default_factory=dict)
    contact_ids: tuple[int, ...] = ()
    dedup_key: str | None = None
    #: the console page about it (``/incidents/42``); the worker makes it a
    #: link with ``NotificationSettings.console_base_url`` when that is set
    link_path: str | None = None

    def __post_init__(self) -> None:
        if self.link_path is not None and not self.link_path.startswith("/"):
            raise ValueError("Notice.link_path must be a path starting with /")
        if self.occurred_at.tzinfo is None:
            raise ValueError("Notice.occurred_at must be timezone-aware")
        if self.escalation_level not in (0, 1):
            raise ValueError("Notice.escalation_level must be 0 or 1")

    def event_key(self) -> str:
        if self.dedup_key:
            return self.dedup_key
        return ":".join(
            (
                self.kind,
                f"i{self.incident_id or '-'}",
                f"t{self.ticket_id or '-'}",
                f"b{self.board_id or '-'}",
                f"e{self.escalation_level}",
                self.occurred_at.isoformat(),
            )
        )

    def to_payload(self) -> dict[str, Any]:
        """The JSON stored in the outbox and sent to webhooks."""
        return {
            "kind": self.kind,
            "severity": self.severity,
            "title": _text_json(self.title),
            "summary": _text_json(self.summary),
            "occurred_at": self.occurred_at.isoformat(),
            "organisation_id": self.organisation_id,
            "site_id": self.site_id,
            "site_name": _text_json(self.site_name) if self.site_name else None,
            "board_id": self.board_id,
            "board_name": self.board_name,
            "incident_id": self.incident_id,
            "ticket_id": self.ticket_id,
            "incident_class": self.incident_class,
            "incident_kind": self.incident_kind,
            "escalation_level": self.escalation_level,
            "details": dict(self.details),
            "link_path": self.link_path,
        }


def _text_json(text: Text) -> dict[str, str | None]:
    return {"vi": text.vi, "en": text.en}


@dataclass(frozen=True, slots=True)
class Route:
    """One row of ``notification_routes``; ``None`` filters match anything."""

    id: int
    contact_id: int
    channel: Channel
    language: Language  # the contact's
    min_severity: Severity = "warning"
    organisation_id: int | None = None
    site_id: int | None = None
    incident_class: IncidentClass | None = None
    incident_kinds: tuple[str, ...] | None = None
    escalation_level: int = 0


@dataclass(frozen=True, slots=True)
class Recipient:
    contact_id: int
    channel: Channel
    language: Language
    #: channels to try next, in order (the contact's fallback chain)
    fallback: tuple[Channel, ...] = ()
    #: held until then (quiet hours), None: not held
    hold_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    body_text: str


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """A claimed outbox row with what its transport needs from the contact."""

    id: int
    idempotency_key: str
    channel: Channel
    contact_id: int
    language: Language
    subject: str
    body_text: str
    payload: dict[str, Any]
    group_key: str | None
    available_at: datetime
    attempts: int  # including the attempt being made now
    contact_name: str
    contact_active: bool
    email: str | None
    webhook_url: str | None
    webhook_secret: str | None
    #: rows about the same incident for the same contact and channel, queued
    #: before this one and not yet finished: they must go out first
    earlier: tuple[int, ...] = ()
    phone: str | None = None
    telegram_chat_id: str | None = None
    zalo_consent_at: datetime | None = None
    #: channels still to try after this one, and those already tried
    fallback: tuple[Channel, ...] = ()
    tried: tuple[Channel, ...] = ()


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One message to one contact over one channel: one outbox row, or a group."""

    message_id: str  # stable across retries of the same rows
    outbox_ids: tuple[int, ...]
    channel: Channel
    language: Language
    contact_name: str
    address: str  # e-mail address or webhook URL
    subject: str
    body_text: str
    payload: dict[str, Any]  # the webhook body (signed as serialised)
    sent_at: datetime
    webhook_secret: str | None = None


class Transport(Protocol):
    """Hands a message to the next hop; returns a short summary of the answer
    (kept in ``notification_deliveries``) or raises ``DeliveryError``."""

    def send(self, message: OutgoingMessage) -> str: ...


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    from_address: str
    host: str = "127.0.0.1"
    port: int = 587
    security: Literal["none", "starttls", "ssl"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_name: str = "Hệ thống bảng tin điện tử Lai Châu"
    timeout_s: float = 10.0
    ca_file: str | None = None  # None: the system's trust store

    def __post_init__(self) -> None:
        if "@" not in self.from_address:
            raise ConfigError("SMTP from address must be an e-mail address")
        if (self.username is None) != (self.password is None):
            raise ConfigError("SMTP username and password go together")
        if not (self.username or "").isascii() or not (self.password or "").isascii():
            raise ConfigError("SMTP username and password must be ASCII (smtplib sends them so)")
        if self.timeout_s <= 0:
            raise ConfigError("SMTP timeout must be positive")

    @property
    def message_id_domain(self) -> str:
        return self.from_address.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    smtp: SmtpSettings
    webhook_timeout_s: float = 10.0
    group_window_s: float = 60.0  # wait this long after a group's first notice
    retry_base_s: float = 30.0
    retry_cap_s: float = 1800.0
    max_age_s: float = 86_400.0  # give up (state failed) after this
    batch_size: int = 50  # rows claimed per run
    #: a claim not renewed for this long is taken back (its worker died)
    sending_lease_s: float = 30.0
    #: how often a live worker renews its claims; None: a third of the lease
    lease_renew_s: float | None = None
    poll_interval_s: float = 5.0
    #: Telegram, SMS and Zalo (None: the channel is not configured)
    telegram: TelegramSettings | None = None
    sms: SmsSettings | None = None
    zalo: ZaloSettings | None = None
    #: an accepted message not confirmed delivered this long after is given
    #: to the next channel of its chain (channels that confirm: SMS)
    confirm_timeout_s: float = 300.0
    #: a channel failing this many times in a row hands over to the next one
    fallback_after_attempts: int = 3
    #: where people open the console (``https://bangtin.laichau.gov.vn``,
    #: FLEET_CONSOLE_BASE_URL): each notice ends with a link to its page;
    #: None: no link
    console_base_url: str | None = None

    def __post_init__(self) -> None:
        if self.console_base_url is not None:
            try:
                check_webhook_url(self.console_base_url)
            except ValueError as exc:
                raise ConfigError(f"FLEET_CONSOLE_BASE_URL: {exc}") from None
        if min(self.webhook_timeout_s, self.retry_base_s, self.poll_interval_s) <= 0:
            raise ConfigError("notification timeouts and intervals must be positive")
        if self.group_window_s < 0 or self.retry_cap_s < self.retry_base_s:
            raise ConfigError("bad notification grouping window or retry cap")
        if self.max_age_s < self.retry_base_s or self.batch_size < 1:
            raise ConfigError("bad notification max age or batch size")
        if self.confirm_timeout_s <= 0 or self.fallback_after_attempts < 1:
            raise ConfigError("bad confirmation timeout or fallback attempts")
        channels = (self.telegram, self.sms, self.zalo)
        longest = max(
            self.smtp.timeout_s,
            self.webhook_timeout_s,
            *(c.timeout_s for c in channels if c is not None),
        )
        if self.sending_lease_s <= 2 * longest:
            raise ConfigError(
                f"the notification sending lease (sending_lease_s, FLEET_NOTIFY_SENDING_LEASE_S:"
                f" {self.sending_lease_s:g} s) must be longer than twice the longest transport"
                f" timeout (smtp.timeout_s: {self.smtp.timeout_s:g} s, webhook_timeout_s,"
                f" FLEET_NOTIFY_WEBHOOK_TIMEOUT_S: {self.webhook_timeout_s:g} s)"
            )
        if self.lease_renew_s is not None and not (
            0 < self.lease_renew_s <= self.sending_lease_s / 2
        ):
            raise ConfigError(
                "the lease renewal interval (lease_renew_s) must be positive and at most"
                " half the sending lease (sending_lease_s)"
            )

    @property
    def renew_interval_s(self) -> float:
        """Seconds between two renewals of a live worker's claims."""
        return self.lease_renew_s or self.sending_lease_s / 3
