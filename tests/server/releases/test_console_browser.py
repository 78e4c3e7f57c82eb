"""The release and rollout pages on a phone (headless Chromium, 390 px):
an administrator counts the boards, starts a rollout from the form and
reads each board's state, without the page scrolling sideways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.browser.conftest import (  # noqa: F401 - shared fixtures
    chromium,
    chromium_process,
    live_url,
    screenshots,
)
from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.releases.support import SigningKey
from tests.server.releases.test_api import _publish

pytestmark = pytest.mark.slow


def _fits(page: Any) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"the page is {wide}px wide on a {PHONE['width']}px phone"


def test_an_administrator_starts_a_rollout_on_a_phone(
    chromium: Any,  # noqa: F811
    live_url: str,  # noqa: F811
    screenshots: Path,  # noqa: F811
    as_: Any,
    key: SigningKey,
    tmp_path: Path,
) -> None:
    assert _publish(as_("admin"), key, tmp_path, "2.0.0").status_code == 201
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/releases")
    _fits(page)
    form = page.locator("#new-rollout")
    form.locator("summary").click()
    form.locator("textarea[name=board_ids]").fill("lc-ma-lu-thang-01, lc-mu-ca-01")
    form.locator("input[name=waves]").fill("1, 100%")
    form.locator("button[data-action=count-boards]").click()
    page.wait_for_load_state()
    assert page.locator("[data-dry-run]").get_attribute("data-dry-run") == "2"
    _fits(page)
    page.locator("#new-rollout button[data-action=start-rollout]").click()
    page.wait_for_url("**/rollouts/*")
    assert page.locator("[data-flash=rollout_created]").count() == 1
    rows = page.locator("tr[data-board]")
    assert rows.count() == 2
    assert rows.first.get_attribute("data-state") == "pending"
    _fits(page)
    page.screenshot(path=str(screenshots / "rollout-phone.png"), full_page=True)
    assert page.errors == []
