"""Zalo Official Account: ZNS (Zalo Notification Service) template messages.

``POST {api_base}/message/template``, header ``access_token``::

    {"phone": "84912345678", "template_id": "123456", "tracking_id": "fleet.12.3f2a…",
     "template_data": {"title": "…", "content": "…", "time": "07:30 20/05/2025"}}

The template (its id in ``FLEET_ZALO_TEMPLATE_ID``) is registered with Zalo
beforehand with the parameters ``title``, ``content`` and ``time``; each
value is at most ``PARAM_MAX`` (400) characters, cut here with "…". ZNS goes
to a phone number in the 84… form and only to a person who agreed to receive
it: a contact without ``zalo_consent_at`` is never sent to (failed for good,
so the chain moves on).

The answer is ``{"error": 0, "message": "Success", "data": {"msg_id": …}}`` or
an error code: a phone or account that cannot receive ZNS fails for good;
an invalid or expired access token (``-124``: it lives about 25 hours and is
refreshed with the OA's refresh token, docs/notifications.md), quota,
rate limits, 5xx and no answer are retried.
"""

from __future__ import annotations

from fleet_server.localtime import LOCAL_TZ
from fleet_server.notifications.channels import base
from fleet_server.notifications.channels.base import ContactCard, Delivery
from fleet_server.notifications.channels.http import Answer, post_json, retry_after
from fleet_server.notifications.channels.settings import ZaloSettings
from fleet_server.notifications.channels.sms import request_id
from fleet_server.notifications.models import Channel, OutgoingMessage

#: ZNS's longest template parameter, in characters
PARAM_MAX = 400
#: Zalo's error codes that no retry can heal: phone invalid, no Zalo account
#: or disabled, user cannot receive ZNS, user refused the OA's messages.
PERMANENT_ERRORS = frozenset({-108, -118, -119, -139})
TOKEN_ERROR = -124


def param(value: str) -> str:
    """A template parameter: single spaces, at most ``PARAM_MAX`` characters."""
    value = " ".join(value.split())
    return value if len(value) <= PARAM_MAX else value[: PARAM_MAX - 1] + "…"


class ZaloChannel:
    name: Channel = "zalo"
    confirms = False

    def __init__(self, settings: ZaloSettings) -> None:
        self.settings = settings

    def template_data(self, message: OutgoingMessage) -> dict[str, str]:
        local = message.sent_at.astimezone(LOCAL_TZ)
        return {
            "title": param(message.subject),
            "content": param(message.body_text),
            "time": local.strftime("%H:%M %d/%m/%Y"),
        }

    def send(self, message: OutgoingMessage, contact: ContactCard) -> Delivery:
        if not contact.phone:
            return base.permanent("contact has no zalo phone number")
        if contact.zalo_consent_at is None:
            return base.permanent("no Zalo consent recorded for the contact")
        token = self.settings.access_token.get_secret_value()
        answer = post_json(
            f"{self.settings.api_base}/message/template",
            {
                "phone": contact.phone,
                "template_id": self.settings.template_id,
                "template_data": self.template_data(message),
                "tracking_id": request_id(message.message_id),
            },
            timeout_s=self.settings.timeout_s,
            headers={"access_token": token},
            secrets=(token,),
        )
        if isinstance(answer, str):
            return base.retry(f"zalo: {answer}")
        return _delivery(answer)


def _delivery(answer: Answer) -> Delivery:
    body = answer.body if isinstance(answer.body, dict) else {}
    error = body.get("error")
    words = str(body.get("message") or answer.text)[:200]
    if answer.status == 429:
        return base.retry(f"zalo HTTP 429: {words}", retry_after(answer))
    if not answer.success or not isinstance(error, int):
        return base.retry(f"zalo HTTP {answer.status}: {words}")
    if error == 0:
        data = body.get("data") or {}
        msg_id = data.get("msg_id") if isinstance(data, dict) else None
        return base.delivered("zalo ZNS accepted", None if msg_id is None else str(msg_id)[:200])
    reason = f"zalo error {error}: {words}"
    if error == TOKEN_ERROR:
        return base.retry(reason + " (refresh the access token)")
    if error in PERMANENT_ERRORS:
        return base.permanent(reason)
    return base.retry(reason)
