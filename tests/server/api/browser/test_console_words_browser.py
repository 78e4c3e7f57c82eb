"""A whole-site outage on a phone, in a real browser (headless Chromium), in
Vietnamese and in English: the open list folds the boards' incidents under
the site incident, the site incident's page lists and links them, and no
raw code or UTC time shows. Screenshots go to
build/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.api.console import words_state
from tests.server.api.console.test_console_words import problems
from tests.support.clock import Clock

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("lang", "fold", "heading", "title"),
    [
        (
            "vi",
            "Xem 2 sự cố của các bảng",
            "Các sự cố thuộc sự cố toàn điểm này",
            "Toàn điểm mất liên lạc (mất điện lưới, 2 bảng)",
        ),
        (
            "en",
            "Show 2 board incidents",
            "Incidents attached to this site incident",
            "Whole site down (mains power, 2 boards)",
        ),
    ],
)
def test_a_site_incident_holds_its_boards_on_a_phone(
    chromium: Any,
    live_url: str,
    db_conn: Any,
    clock: Clock,
    screenshots: Path,
    lang: str,
    fold: str,
    heading: str,
    title: str,
) -> None:
    seeded = words_state.seed_everything(db_conn, clock.now)
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/incidents?lang={lang}")
    parent = page.locator(f"#incident-{seeded.site_incident}")
    assert parent.locator(".incident-title").inner_text() == title
    for child in seeded.children:  # not rows of their own
        assert page.locator(f"#incident-{child}").count() == 0
    folded = parent.locator(f"details[data-children='{seeded.site_incident}']")
    assert folded.locator("summary").inner_text() == fold
    assert not folded.locator(f"[data-child='{seeded.children[0]}']").is_visible()
    folded.locator("summary").click()
    assert folded.locator(f"[data-child='{seeded.children[0]}']").is_visible()
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"the list is {wide}px wide on a {PHONE['width']}px phone"
    assert not problems(page.content())
    page.screenshot(path=screenshots / f"40-site-incident-list-{lang}.png", full_page=True)

    parent.locator(".incident-title a").click()
    page.wait_for_url(f"**/incidents/{seeded.site_incident}")
    attached = page.locator("#attached")
    assert attached.locator("h2").inner_text() == f"{heading} (2)"
    attached.locator(f"[data-child='{seeded.children[1]}'] strong a").click()
    page.wait_for_url(f"**/incidents/{seeded.children[1]}")
    assert page.locator("[data-parent]").count() == 1
    assert not problems(page.content())
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"the page is {wide}px wide on a {PHONE['width']}px phone"
    page.screenshot(path=screenshots / f"41-board-incident-{lang}.png", full_page=True)
    assert not page.errors
