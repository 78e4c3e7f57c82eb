"""A refused form far down a page, on a phone: the page came back at its top
(the kill switch's action names no section), the reason screens below.
Now the refusal is brought into view and the box at fault has the focus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in

pytestmark = pytest.mark.slow
BOARD = "lc-ma-lu-thang-01"


def test_a_refused_kill_switch_is_in_view_on_a_phone(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/boards/{BOARD}")
    page.locator("summary[data-kill='stop_content']").click()
    form = page.locator("details.kill-stop_content form")
    form.locator("textarea[name=reason]").fill("Sai nội dung <b>")
    form.evaluate("f => { f.noValidate = true; }")  # the box left unticked reaches the server
    form.locator("button[data-command='stop_content']").click()
    page.wait_for_load_state()

    refusal = page.locator(".refusal[role=alert]")
    assert "trước khi gửi lệnh này" in refusal.inner_text()
    page.screenshot(path=screenshots / "phone-kill-switch-refused.png")
    top = refusal.bounding_box()["y"]
    assert 0 <= top < PHONE["height"] / 2  # on the first screen, not below it
    assert page.evaluate("document.activeElement.name") == "confirm"
    assert page.evaluate("document.activeElement.getAttribute('aria-invalid')") == "true"
    assert form.locator("textarea[name=reason]").input_value() == "Sai nội dung <b>"
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert db_conn.execute("SELECT count(*) FROM board_commands").fetchone() == (0,)
    # the refusal's own 400 is the only thing the console reports
    assert [e for e in page.errors if "status of 400" not in e] == []
