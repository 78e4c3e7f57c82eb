"""My account → Notices in a real browser (headless Chromium) on a phone, in
both languages: a technician opens the page from their name, orders their
channels (Zalo → SMS → e-mail), gives their number and consent, sets quiet
hours and saves; the page confirms it. Screenshots go to
build/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fleet_server.api.console import i18n
from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.api.conftest import ACCOUNTS

pytestmark = pytest.mark.slow


def _saved(db_conn: Any) -> tuple[Any, ...] | None:
    row: tuple[Any, ...] | None = db_conn.execute(
        "SELECT p.channels, p.severities, p.quiet_from::text, p.quiet_until::text, c.phone,"
        " c.zalo_consent_at IS NOT NULL"
        " FROM notification_preferences p JOIN contacts c ON c.id = p.contact_id"
        " JOIN users u ON u.id = c.user_id WHERE u.username = %s",
        (ACCOUNTS["technician"].username,),
    ).fetchone()
    return row


@pytest.mark.parametrize(
    ("lang", "title", "saved"),
    [
        ("vi", "Tài khoản — Thông báo", "Đã lưu cài đặt thông báo."),
        ("en", "My account — Notices", "Notice settings saved."),
    ],
)
def test_a_technician_sets_their_notices_on_a_phone(
    chromium: Any,
    live_url: str,
    db_conn: Any,
    screenshots: Path,
    lang: str,
    title: str,
    saved: str,
) -> None:
    db_conn.execute(
        "UPDATE users SET email = 'ky.thuat@bql.laichau.gov.vn' WHERE username = %s",
        (ACCOUNTS["technician"].username,),
    )
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "technician")
    page.goto(f"{live_url}/?lang={lang}")
    page.locator("a.who").click()  # the person's own name leads to their settings
    page.wait_for_load_state()
    assert page.url.endswith("/account/notifications")
    assert page.locator("h1").inner_text() == title
    # Nothing runs off a phone's screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]

    page.select_option("#channel-1", "zalo")
    page.select_option("#channel-2", "sms")
    page.select_option("#channel-3", "email")
    page.fill("input[name=phone]", "0912 345 678")
    page.check("input[name=zalo_consent]")
    page.uncheck("input[name=severity][value=warning]")
    page.check("input[name=quiet]")
    page.fill("input[name=quiet_start]", "21:30")
    page.fill("input[name=quiet_end]", "05:45")
    page.screenshot(path=screenshots / f"40-preferences-{lang}.png", full_page=True)
    # A number that is not one comes back refused: the field named in the
    # reader's language, what was typed kept (escaped), nothing saved.
    page.fill("input[name=phone]", "<b>0912</b>")
    page.click("#prefs button[type=submit]")
    page.wait_for_load_state()
    refusal = page.locator("[role=alert][data-error=phone]")
    assert i18n.translator(lang)("prefs.phone") in refusal.inner_text()
    assert page.locator("input[name=phone]").input_value() == "<b>0912</b>"
    assert page.locator("input[name=phone]").get_attribute("aria-invalid") == "true"
    assert page.locator("#channel-2").input_value() == "sms"
    assert page.locator("input[name=quiet_start]").input_value() == "21:30"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert _saved(db_conn) is None
    page.fill("input[name=phone]", "0912 345 678")
    page.click("#prefs button[type=submit]")
    page.wait_for_load_state()

    status = page.locator("#prefs-saved")
    assert status.inner_text() == saved
    assert status.get_attribute("role") == "status"
    assert page.locator("#channel-1").input_value() == "zalo"
    assert page.locator("input[name=phone]").input_value() == "84912345678"
    assert _saved(db_conn) == (
        ["zalo", "sms", "email"],
        ["critical", "major", "minor"],
        "21:30:00",
        "05:45:00",
        "84912345678",
        True,
    )
    page.screenshot(path=screenshots / f"41-preferences-saved-{lang}.png", full_page=True)
    # The refused form answered 400 (the browser says so); nothing else went wrong.
    assert page.errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]
