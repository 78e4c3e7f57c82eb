"""Brandname SMS through a gateway speaking a small documented HTTP contract
(docs/notifications.md, "SMS"; the mapping to eSMS.vn and VNPT is there too).

``POST {gateway_url}/messages``, ``Authorization: Bearer <key>``::

    {"request_id": "fleet.12.3f2a9c0d1e7b", "sender": "LAICHAU", "to": "84912345678",
     "text": "…", "unicode": false, "segments": 1}

* 2xx ``{"message_id": "…", "status": "accepted"}`` — accepted: the gateway
  reports delivery later to ``POST /api/v1/notifications/sms/delivery-reports``;
  a repeated ``request_id`` is answered like the first time, never sent twice;
* 429 (``Retry-After``), 5xx, 401/403 (the key), no answer — retried;
* other 4xx (a number the operator refuses, a text refused) — failed for good.

``request_id`` is the message's id without the domain (≤ 50 characters, the
eSMS RequestId limit): the same on every attempt at the same notices.
"""

from __future__ import annotations

from fleet_server.notifications.channels import base
from fleet_server.notifications.channels.base import ContactCard, Delivery
from fleet_server.notifications.channels.http import post_json, retry_after
from fleet_server.notifications.channels.settings import SmsSettings
from fleet_server.notifications.channels.vietnam import fit, segments, strip_diacritics
from fleet_server.notifications.models import Channel, OutgoingMessage

REQUEST_ID_MAX = 50


def request_id(message_id: str) -> str:
    """The gateway's de-duplication key for a message (stable across retries)."""
    return message_id.partition("@")[0][:REQUEST_ID_MAX]


def sms_text(subject: str, body: str, settings: SmsSettings) -> str:
    """The subject and body, without diacritics when the gateway needs it, cut
    to ``max_segments`` parts."""
    text = f"{subject}\n{body}".strip()
    if settings.strip_diacritics:
        text = strip_diacritics(text)
    return fit(text, settings.max_segments)


class SmsChannel:
    name: Channel = "sms"
    confirms = True

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def send(self, message: OutgoingMessage, contact: ContactCard) -> Delivery:
        if not contact.phone:
            return base.permanent("contact has no sms phone number")
        text = sms_text(message.subject, message.body_text, self.settings)
        encoding, parts = segments(text)
        key = self.settings.api_key.get_secret_value()
        answer = post_json(
            f"{self.settings.gateway_url}/messages",
            {
                "request_id": request_id(message.message_id),
                "sender": self.settings.sender,
                "to": contact.phone,
                "text": text,
                "unicode": encoding == "ucs2",
                "segments": parts,
            },
            timeout_s=self.settings.timeout_s,
            headers={"Authorization": f"Bearer {key}"},
            secrets=(key,),
        )
        if isinstance(answer, str):
            return base.retry(f"sms gateway: {answer}")
        body = answer.body if isinstance(answer.body, dict) else {}
        reason = f"sms gateway HTTP {answer.status}: {body.get('error') or answer.text}"
        if answer.success:
            gateway_id = body.get("message_id")
            return base.accepted(
                f"sms gateway HTTP {answer.status} {body.get('status', 'accepted')},"
                f" {parts} part(s) {encoding}",
                None if gateway_id is None else str(gateway_id)[:200],
            )
        if answer.status == 429:
            return base.retry(reason, retry_after(answer))
        if 400 <= answer.status < 500 and answer.status not in (401, 403, 408):
            return base.permanent(reason)
        return base.retry(reason)
