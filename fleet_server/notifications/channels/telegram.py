"""Telegram: the Bot API's ``sendMessage``.

``POST {api_base}/bot<token>/sendMessage`` with ``chat_id``, ``text`` and
``parse_mode`` (HTML: the subject in bold, everything else escaped). The
answer is ``{"ok": true, "result": {"message_id": …}}`` or ``{"ok": false,
"error_code": …, "description": …, "parameters": {"retry_after": s}}``:

* 2xx with ``ok`` — delivered (the Bot API answers once the message is in the chat);
* 429 — rate limited: retried after ``parameters.retry_after`` seconds;
* 400 (chat not found, text refused), 403 (the bot was blocked or kicked) — failed for good;
* 401/404 (a wrong token), 5xx, no answer — retried (the chain moves on after
  ``fallback_after_attempts``).

The token is part of the URL: it is scrubbed from every reason.
"""

from __future__ import annotations

import html

from fleet_server.notifications.channels import base
from fleet_server.notifications.channels.base import ContactCard, Delivery
from fleet_server.notifications.channels.http import Answer, post_json, retry_after
from fleet_server.notifications.channels.settings import TelegramSettings
from fleet_server.notifications.models import Channel, OutgoingMessage

#: sendMessage's limit, in characters after entity parsing
MAX_TEXT = 4096


def message_text(subject: str, body: str, *, html_mode: bool) -> str:
    """The subject, a blank line, the body; cut to ``MAX_TEXT`` with an ellipsis."""
    room = MAX_TEXT - len(subject) - 2
    if len(body) > room:
        body = body[: max(0, room - 1)] + "…"
    if html_mode:
        return f"<b>{html.escape(subject, quote=False)}</b>\n\n{html.escape(body, quote=False)}"
    return f"{subject}\n\n{body}"


class TelegramChannel:
    name: Channel = "telegram"
    confirms = False

    def __init__(self, settings: TelegramSettings) -> None:
        self.settings = settings

    def send(self, message: OutgoingMessage, contact: ContactCard) -> Delivery:
        chat_id = contact.telegram_chat_id
        if not chat_id:
            return base.permanent("contact has no telegram chat id")
        token = self.settings.bot_token.get_secret_value()
        html_mode = self.settings.parse_mode == "HTML"
        payload: dict[str, object] = {
            "chat_id": int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id,
            "text": message_text(message.subject, message.body_text, html_mode=html_mode),
            "disable_web_page_preview": True,
        }
        if self.settings.parse_mode:
            payload["parse_mode"] = self.settings.parse_mode
        answer = post_json(
            f"{self.settings.api_base}/bot{token}/sendMessage",
            payload,
            timeout_s=self.settings.timeout_s,
            secrets=(token,),
        )
        if isinstance(answer, str):
            return base.retry(f"telegram: {answer}")
        return _delivery(answer)


def _delivery(answer: Answer) -> Delivery:
    body = answer.body if isinstance(answer.body, dict) else {}
    description = str(body.get("description") or answer.text)[:200]
    if answer.success and body.get("ok") is True:
        result = body.get("result") or {}
        message_id = result.get("message_id") if isinstance(result, dict) else None
        return base.delivered(
            f"telegram HTTP {answer.status} ok", None if message_id is None else str(message_id)
        )
    reason = f"telegram HTTP {answer.status}: {description}"
    if answer.status == 429:
        parameters = body.get("parameters") or {}
        wait = parameters.get("retry_after") if isinstance(parameters, dict) else None
        seconds = float(wait) if isinstance(wait, int | float) else retry_after(answer)
        return base.retry(reason, seconds)
    if answer.status in (400, 403):
        return base.permanent(reason)
    return base.retry(reason)
