"""The console on a phone (390 × 844) with the names people really type: a
board named with a long unbroken word, markup, a right-to-left override
(U+202E) and Arabic. The menu leaves room for the page, the board's id beside
its name is not squeezed to a letter a line, the override does not reverse
what follows the name, and nothing widens the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in

pytestmark = pytest.mark.slow
BOARD = "lc-mu-ca-01"
HOSTILE = "Bảng_tin_cửa_khẩu_Mù_Cả_" * 4 + " <script>alert('x')</script> \u202eمرحبا بالعالم"


def test_a_hostile_board_name_on_a_phone(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    db_conn.execute("UPDATE boards SET name = %s WHERE id = %s", (HOSTILE, BOARD))
    site = db_conn.execute("SELECT site_id FROM boards WHERE id = %s", (BOARD,)).fetchone()[0]
    page = new_page(chromium, viewport=PHONE)
    dialogs: list[str] = []

    def dialog(d: Any) -> None:  # an alert() would be the name's markup run as script
        dialogs.append(d.message)
        d.dismiss()

    page.on("dialog", dialog)
    sign_in(page, live_url, "admin")

    # The administrator's fourteen menu entries are one row that scrolls sideways:
    # wrapped, they filled 370 px of the first screen before any content.
    assert page.locator("header.top, .top").first.bounding_box()["height"] <= 200
    page.goto(f"{live_url}/sites/{site}")
    page.screenshot(path=screenshots / "phone-hostile-site.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    name = page.locator(f"table.list a[href='/boards/{BOARD}']")
    assert name.inner_text().startswith("Bảng_tin_cửa_khẩu_Mù_Cả_")  # shown as text, escaped
    # the id beside the name keeps its words (it was 13 px wide, a letter a line)
    board_id = page.locator("table.list td span.muted", has_text=BOARD).bounding_box()
    assert board_id["height"] < 3 * 20
    assert board_id["width"] > 40
    # a right-to-left override typed in a name stays inside its link
    assert name.evaluate("a => getComputedStyle(a).unicodeBidi") == "isolate"

    # the last menu entry is still there, scrolled to and followed
    page.locator("nav.menu a[href='/audit']").click()
    page.wait_for_url("**/audit")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert dialogs == []
    assert page.errors == []
