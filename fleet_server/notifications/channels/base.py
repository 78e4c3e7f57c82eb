"""The one interface every channel implements, and what it answers.

``ChannelAdapter.send(message, contact)`` hands one message (one notice, or a
site's group) to one contact and says what became of it as a ``Delivery``:
delivered, accepted (the provider confirms delivery later), to be retried
(rate limit, server trouble, no answer) or failed for good (the address is
wrong, the user blocked the bot): then the worker tries the contact's next
channel. Adapters never raise for a provider's answer, and never put a token
or key into a reason (``scrub``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from fleet_server.notifications.models import (
    Channel,
    DeliveryError,
    OutboxRow,
    OutgoingMessage,
    Transport,
)

Outcome = Literal["delivered", "accepted", "retry", "permanent"]
_REASON_MAX = 500


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a channel says about one message."""

    outcome: Outcome
    #: the provider's answer or why it failed, in a few words (kept on the record)
    reason: str
    provider_message_id: str | None = None
    #: the provider asked to wait this long (HTTP 429 retry_after)
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in ("delivered", "accepted")

    @property
    def permanent(self) -> bool:
        return self.outcome == "permanent"


def delivered(reason: str, provider_message_id: str | None = None) -> Delivery:
    return Delivery("delivered", _short(reason), provider_message_id)


def accepted(reason: str, provider_message_id: str | None = None) -> Delivery:
    return Delivery("accepted", _short(reason), provider_message_id)


def retry(reason: str, retry_after_s: float | None = None) -> Delivery:
    return Delivery("retry", _short(reason), retry_after_s=retry_after_s)


def permanent(reason: str) -> Delivery:
    return Delivery("permanent", _short(reason))


def _short(text: str) -> str:
    return " ".join(text.split())[:_REASON_MAX]


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` with every secret in it replaced by ``***`` (a provider may
    echo a URL with the token in it; an exception may quote it)."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


@dataclass(frozen=True, slots=True)
class ContactCard:
    """Whom a message goes to: the contact's name and addresses."""

    id: int
    name: str
    email: str | None = None
    phone: str | None = None  # 84xxxxxxxxx
    telegram_chat_id: str | None = None
    zalo_consent_at: datetime | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None

    @classmethod
    def of(cls, row: OutboxRow) -> ContactCard:
        return cls(
            id=row.contact_id,
            name=row.contact_name,
            email=row.email,
            phone=row.phone,
            telegram_chat_id=row.telegram_chat_id,
            zalo_consent_at=row.zalo_consent_at,
            webhook_url=row.webhook_url,
            webhook_secret=row.webhook_secret,
        )

    def address(self, channel: Channel) -> str | None:
        """The contact's address on ``channel`` (Zalo ZNS is sent to the phone)."""
        return {
            "email": self.email,
            "webhook": self.webhook_url,
            "telegram": self.telegram_chat_id,
            "sms": self.phone,
            "zalo": self.phone,
        }[channel]


class ChannelAdapter(Protocol):
    """One channel. ``confirms``: an ``accepted`` message is confirmed
    delivered later (a delivery report); until then the notice waits."""

    @property
    def name(self) -> Channel: ...

    @property
    def confirms(self) -> bool: ...

    def send(self, message: OutgoingMessage, contact: ContactCard) -> Delivery: ...


@dataclass(frozen=True, slots=True)
class TransportChannel:
    """A transport of before the channels (SMTP, webhook) behind the channel
    interface: its answer is a delivery, its ``DeliveryError`` a failure."""

    name: Channel
    transport: Transport
    confirms: bool = False

    def send(self, message: OutgoingMessage, contact: ContactCard) -> Delivery:
        if not contact.address(self.name):
            return permanent(f"contact has no {self.name} address")
        try:
            answer = self.transport.send(message)
        except DeliveryError as exc:
            return permanent(str(exc)) if exc.permanent else retry(str(exc))
        return delivered(answer, message.message_id)
