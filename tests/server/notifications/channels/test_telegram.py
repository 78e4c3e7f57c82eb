"""Telegram's Bot API ``sendMessage`` against a local server answering like
Telegram: delivered, rate limited (429 with ``retry_after``), refused for
good (400 chat not found, 403 blocked), server trouble (5xx), no server."""

from __future__ import annotations

from pydantic import SecretStr

from fleet_server.notifications.channels.settings import TelegramSettings
from fleet_server.notifications.channels.telegram import MAX_TEXT, TelegramChannel, message_text
from tests.server.notifications.channels.conftest import Provider, Reply
from tests.server.notifications.channels.messages import BODY, SUBJECT, contact, message
from tests.support.ports import free_port

TOKEN = "123456:AAE-test-bot-token-never-shown"


def channel(provider_url: str, **overrides: object) -> TelegramChannel:
    values: dict[str, object] = {"api_base": provider_url, "parse_mode": "HTML", "timeout_s": 5.0}
    values.update(overrides)
    return TelegramChannel(TelegramSettings(SecretStr(TOKEN), **values))  # type: ignore[arg-type]


def test_send_message_posts_chat_id_text_and_parse_mode(telegram: Provider) -> None:
    result = channel(telegram.url).send(message("telegram"), contact())

    assert result.outcome == "delivered"
    assert result.provider_message_id == "4711"
    [request] = telegram.requests
    assert request.path == f"/bot{TOKEN}/sendMessage"
    sent = request.json()
    assert sent["chat_id"] == 123456789
    assert sent["parse_mode"] == "HTML"
    assert sent["text"].startswith("<b>[Khẩn cấp] Sự cố mới: Mất điện lưới")
    assert "pin UPS còn 80%" in sent["text"]
    assert TOKEN not in result.reason


def test_a_channel_username_is_sent_as_text(telegram: Provider) -> None:
    channel(telegram.url).send(message("telegram"), contact(telegram_chat_id="@laichau_truc_ban"))
    assert telegram.requests[0].json()["chat_id"] == "@laichau_truc_ban"


def test_html_is_escaped_and_long_texts_cut() -> None:
    text = message_text("a < b", "x & y " * 2000, html_mode=True)
    assert text.startswith("<b>a &lt; b</b>\n\n")
    assert "x &amp; y" in text
    plain = message_text(SUBJECT, "z" * 10_000, html_mode=False)
    assert len(plain) == MAX_TEXT
    assert plain.endswith("…")
    assert message_text(SUBJECT, BODY, html_mode=False) == f"{SUBJECT}\n\n{BODY}"


def test_rate_limit_is_retried_after_what_telegram_asks(telegram: Provider) -> None:
    telegram.replies.append(
        Reply(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 17",
                "parameters": {"retry_after": 17},
            },
        )
    )
    result = channel(telegram.url).send(message("telegram"), contact())
    assert result.outcome == "retry"
    assert result.retry_after_s == 17
    assert "429" in result.reason


def test_chat_not_found_and_blocked_bot_fail_for_good(telegram: Provider) -> None:
    telegram.replies += [
        Reply(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}),
        Reply(403, {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked"}),
    ]
    first = channel(telegram.url).send(message("telegram"), contact())
    second = channel(telegram.url).send(message("telegram"), contact())
    assert (first.outcome, second.outcome) == ("permanent", "permanent")
    assert "chat not found" in first.reason
    assert "bot was blocked" in second.reason


def test_server_trouble_and_a_wrong_token_are_retried(telegram: Provider) -> None:
    telegram.replies += [
        Reply(502, b"<html>Bad Gateway</html>"),
        Reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"}),
    ]
    assert channel(telegram.url).send(message("telegram"), contact()).outcome == "retry"
    assert channel(telegram.url).send(message("telegram"), contact()).outcome == "retry"


def test_no_server_is_retried_without_the_token_in_the_reason() -> None:
    result = channel(f"http://127.0.0.1:{free_port()}").send(message("telegram"), contact())
    assert result.outcome == "retry"
    assert TOKEN not in result.reason
    assert "127.0.0.1" in result.reason


def test_a_provider_echoing_the_token_never_gets_it_recorded(telegram: Provider) -> None:
    telegram.replies.append(
        Reply(400, {"ok": False, "description": f"Bad Request: bot{TOKEN} chat not found"})
    )
    result = channel(telegram.url).send(message("telegram"), contact())
    assert TOKEN not in result.reason
    assert "***" in result.reason


def test_a_contact_without_chat_id_fails_for_good(telegram: Provider) -> None:
    result = channel(telegram.url).send(message("telegram"), contact(telegram_chat_id=None))
    assert result.outcome == "permanent"
    assert result.reason == "contact has no telegram chat id"
    assert telegram.requests == []
