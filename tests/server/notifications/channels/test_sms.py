"""Brandname SMS through the documented gateway contract, against a local
gateway: request id for de-duplication, sender name, text without
diacritics, segments, and the gateway's answers."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from fleet_server.errors import ConfigError
from fleet_server.notifications.channels.settings import SmsSettings, check_brandname
from fleet_server.notifications.channels.sms import SmsChannel, request_id, sms_text
from tests.server.notifications.channels.conftest import Provider, Reply
from tests.server.notifications.channels.messages import contact, message

KEY = "esms-api-key-0123456789-secret"


def settings(url: str, **overrides: object) -> SmsSettings:
    values: dict[str, object] = {"sender": "LAICHAU", "timeout_s": 5.0}
    values.update(overrides)
    return SmsSettings(url, SecretStr(KEY), **values)  # type: ignore[arg-type]


def test_a_message_is_accepted_and_waits_for_its_report(sms_gateway: Provider) -> None:
    result = SmsChannel(settings(sms_gateway.url)).send(message(), contact())

    assert result.outcome == "accepted"
    assert result.provider_message_id == "gw-fleet.12.3f2a9c0d1e7b"
    assert SmsChannel(settings(sms_gateway.url)).confirms
    [request] = sms_gateway.requests
    assert request.path == "/messages"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    sent = request.json()
    assert sent["request_id"] == "fleet.12.3f2a9c0d1e7b"  # the message id without the domain
    assert sent["sender"] == "LAICHAU"
    assert sent["to"] == "84912345678"
    assert sent["text"].startswith("[Khan cap] Su co moi: Mat dien luoi - Cua khau quoc te")
    assert "Duong day dien o Muong Te" in sent["text"]
    assert sent["text"].isascii()
    assert sent["unicode"] is False
    assert sent["segments"] == 2
    assert KEY not in result.reason


def test_the_same_message_keeps_its_request_id(sms_gateway: Provider) -> None:
    channel = SmsChannel(settings(sms_gateway.url))
    channel.send(message(), contact())
    channel.send(message(), contact())
    ids = {r.json()["request_id"] for r in sms_gateway.requests}
    assert ids == {"fleet.12.3f2a9c0d1e7b"}
    assert len(request_id("fleet.9223372036854775807.abcdefabcdef@" + "x" * 200)) <= 50


def test_unicode_when_the_gateway_takes_it(sms_gateway: Provider) -> None:
    SmsChannel(settings(sms_gateway.url, strip_diacritics=False)).send(message(), contact())
    sent = sms_gateway.requests[0].json()
    assert "Mường Tè" in sent["text"]
    assert sent["unicode"] is True
    assert sent["segments"] == 3


def test_long_texts_are_cut_to_the_segments_allowed() -> None:
    text = sms_text("Tieu de", "noi dung " * 200, settings("http://127.0.0.1:9", max_segments=1))
    assert len(text) <= 160
    assert text.endswith("...")


def test_gateway_answers(sms_gateway: Provider) -> None:
    sms_gateway.replies += [
        Reply(429, {"error": "slow down"}, {"Retry-After": "30"}),
        Reply(503, {"error": "maintenance"}),
        Reply(400, {"error": "invalid phone number"}),
        Reply(401, {"error": "bad key"}),
    ]
    channel = SmsChannel(settings(sms_gateway.url))
    limited, down, refused, key = (channel.send(message(), contact()) for _ in range(4))
    assert (limited.outcome, limited.retry_after_s) == ("retry", 30.0)
    assert down.outcome == "retry"
    assert refused.outcome == "permanent"
    assert "invalid phone number" in refused.reason
    assert key.outcome == "retry"  # the operator fixes the key; the notices wait


def test_no_phone_fails_for_good(sms_gateway: Provider) -> None:
    result = SmsChannel(settings(sms_gateway.url)).send(message(), contact(phone=None))
    assert (result.outcome, result.reason) == ("permanent", "contact has no sms phone number")
    assert sms_gateway.requests == []


@pytest.mark.parametrize(
    ("sender", "problem"),
    [
        ("", "1 to 11"),
        ("LAICHAU-TTTT1", "1 to 11"),
        ("LAICHÂU", "ASCII"),
        ("LAI_CHAU", "ASCII letters"),
    ],
)
def test_bad_sender_names_are_refused(sender: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        check_brandname(sender)


def test_eleven_characters_is_the_longest_sender() -> None:
    assert check_brandname("SO TTTT-LCU") == "SO TTTT-LCU"


def test_bad_gateway_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="http"):
        settings("ftp://gateway")
    with pytest.raises(ConfigError, match="segments"):
        settings("http://127.0.0.1:9", max_segments=0)
    with pytest.raises(ConfigError, match="callback secret"):
        settings("http://127.0.0.1:9", callback_secret=SecretStr("short"))
    with pytest.raises(ConfigError, match="key is empty"):
        SmsSettings("http://127.0.0.1:9", SecretStr(""))
