"""Zalo ZNS template messages against a local server answering like Zalo's
OpenAPI: template id and parameters, phone in 84… form, consent, the
400-character parameter limit, error codes."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from fleet_server.errors import ConfigError
from fleet_server.notifications.channels.settings import ZaloSettings
from fleet_server.notifications.channels.zalo import PARAM_MAX, ZaloChannel, param
from tests.server.notifications.channels.conftest import Provider, Reply
from tests.server.notifications.channels.messages import SUBJECT, contact, message

TOKEN = "zalo-oa-access-token-very-secret"


def channel(url: str) -> ZaloChannel:
    return ZaloChannel(ZaloSettings(SecretStr(TOKEN), "224466", api_base=url, timeout_s=5.0))


def test_a_template_message_to_the_phone(zalo: Provider) -> None:
    result = channel(zalo.url).send(message("zalo"), contact())

    assert (result.outcome, result.provider_message_id) == ("delivered", "zns-1")
    [request] = zalo.requests
    assert request.path == "/message/template"
    assert request.headers["access_token"] == TOKEN
    sent = request.json()
    assert sent["phone"] == "84912345678"
    assert sent["template_id"] == "224466"
    assert sent["tracking_id"] == "fleet.12.3f2a9c0d1e7b"
    assert sent["template_data"]["title"] == SUBJECT
    assert sent["template_data"]["time"] == "07:30 20/05/2025"  # Vietnam time
    assert "Mường Tè" in sent["template_data"]["content"]


def test_parameters_are_cut_at_400_characters(zalo: Provider) -> None:
    channel(zalo.url).send(message("zalo", body_text="Mất điện " * 100), contact())
    content = zalo.requests[0].json()["template_data"]["content"]
    assert len(content) == PARAM_MAX
    assert content.endswith("…")
    assert param("a  b\n c") == "a b c"
    assert param("x" * 400) == "x" * 400


def test_without_consent_nothing_is_sent(zalo: Provider) -> None:
    result = channel(zalo.url).send(message("zalo"), contact(zalo_consent_at=None))
    assert (result.outcome, result.reason) == (
        "permanent",
        "no Zalo consent recorded for the contact",
    )
    without_phone = channel(zalo.url).send(message("zalo"), contact(phone=None))
    assert without_phone.outcome == "permanent"
    assert zalo.requests == []


def test_zalo_error_codes(zalo: Provider) -> None:
    zalo.replies += [
        Reply(200, {"error": -118, "message": "Zalo account not existed"}),
        Reply(200, {"error": -124, "message": "Access token invalid"}),
        Reply(200, {"error": -1, "message": "Unknown error"}),
        Reply(429, {"error": -32, "message": "rate limit"}, {"Retry-After": "60"}),
        Reply(500, b"oops"),
    ]
    results = [channel(zalo.url).send(message("zalo"), contact()) for _ in range(5)]
    assert [r.outcome for r in results] == ["permanent", "retry", "retry", "retry", "retry"]
    assert "refresh the access token" in results[1].reason
    assert results[3].retry_after_s == 60
    assert all(TOKEN not in r.reason for r in results)


def test_bad_zalo_settings_are_refused() -> None:
    with pytest.raises(ConfigError, match="template id"):
        ZaloSettings(SecretStr(TOKEN), "tmpl-1")
    with pytest.raises(ConfigError, match="empty"):
        ZaloSettings(SecretStr(""), "1")
