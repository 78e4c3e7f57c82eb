"""A server whose provisioning is not set up refuses a new board in the
reader's language, naming the setting the system administrator must set
(the walkthrough found the service's English text on a Vietnamese page)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console.forms import reason
from tests.server.api.console.conftest import csrf_of

NewBrowser = Callable[..., TestClient]


def _refusal(page: str) -> str:
    found = re.search(r'<div class="flash error refusal" role="alert"[^>]*>(.*?)</div>', page, re.S)
    assert found, "no refusal on the page"
    return html.unescape(re.sub(r"\s+", " ", found.group(1)))


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("vi", "Máy chủ chưa được cấu hình để cấp phát bảng tin"),
        ("en", "This server is not set up to provision boards"),
    ],
)
def test_a_new_board_without_provisioning_is_refused_in_the_readers_words(
    new_browser: NewBrowser, db_conn: Any, lang: str, words: str
) -> None:
    admin = new_browser("admin")
    site = db_conn.execute("SELECT id FROM sites WHERE code = 'phong-tho'").fetchone()[0]
    page = admin.get(f"/admin/boards?lang={lang}")
    answer = admin.post(
        "/admin/boards",
        data={
            "csrf_token": csrf_of(page.text),
            "board_id": "lc-unprovisioned-1",
            "site_id": str(site),
            "name": "Bảng tin chưa cấp phát",
            "auth": "password",
        },
    )
    assert answer.status_code == 503, answer.text
    refusal = _refusal(answer.text)
    assert words in refusal
    assert "FLEET_BROKER_ADMIN_URL" in refusal
    assert "provisioning is not configured" not in refusal


def test_the_broker_address_refusal_is_worded_too() -> None:
    setting = "FLEET_PROVISIONING_MQTT_CERT_URL"
    detail = f"the broker address for certificate boards is unknown: set {setting}"
    _text, worded = reason(detail, None)
    assert worded == ("refusal.no_broker_address", {"setting": setting})
