"""The issue-19 pages on a phone (headless Chromium, 390 px), in one module
so that its tests share one browser process (a second module importing the
package-scoped browser fixture would start a second Playwright in the same
thread): an administrator counts the boards, starts a rollout from the form
and reads each board's state, without the page scrolling sideways; with a
32-character version, 16 long tags, a long board id and long reasons, the
releases, rollout, 4G data and log bundle pages and the board page's tags,
agent, logs and data sections fit; a refused tags form comes back named in
the reader's language and its language switch leads to the board's page; a
viewer sees no form there."""

from __future__ import annotations

from datetime import UTC, datetime
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
from tests.server.api.conftest import store  # noqa: F401 - shared fixture
from tests.server.api.console.test_logs_section import add_bundle
from tests.server.datausage.api.test_data_usage_console import report
from tests.server.engine.conftest import Store
from tests.server.releases.support import SigningKey
from tests.server.releases.test_api import _publish
from tests.support import seed
from tests.support.clock import Clock

pytestmark = pytest.mark.slow
BOARD = "lc-ma-lu-thang-01"
LONG_BOARD = "lc-" + "x" * 61
VERSION = "1.2.3-rc.1+build." + "a" * 15  # 32 characters, the longest allowed


def _fits(page: Any, what: str = "the page") -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"{what} is {wide}px wide on a {PHONE['width']}px phone"


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


def test_the_new_sections_fit_a_phone(
    chromium: Any,  # noqa: F811
    live_url: str,  # noqa: F811
    as_: Any,
    key: SigningKey,
    tmp_path: Path,
    db_conn: Any,
    store: Store,  # noqa: F811
    clock: Clock,
) -> None:
    clock.set(datetime(2026, 12, 10, 5, tzinfo=UTC))
    admin = as_("admin")
    assert _publish(admin, key, tmp_path, VERSION).status_code == 201
    seed.board(db_conn, LONG_BOARD, seed.site_of_board(db_conn, BOARD))
    tags = [f"tag-{i:02d}-" + "q" * 25 for i in range(16)]
    assert admin.patch(f"/api/v1/boards/{BOARD}", json={"tags": tags}).status_code == 200
    started = admin.post(
        "/api/v1/rollouts",
        json={
            "version": VERSION,
            "target": {"board_ids": [BOARD, LONG_BOARD]},
            "waves": [{"percent": 100}],
        },
    )
    assert started.status_code == 201, started.text
    rollout = started.json()["id"]
    db_conn.execute(
        "UPDATE rollout_boards SET state = 'failed', reason = %s WHERE rollout_id = %s",
        ("download refused: " + "w" * 200, rollout),
    )
    bundle = add_bundle(db_conn, BOARD, "journal", "x" * 500 + "\n", clock.now)
    report(store, BOARD, 12_000_000)

    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "admin")
    for url in (
        "/releases",
        f"/rollouts/{rollout}",
        "/data-usage?lang=en",
        f"/boards/{BOARD}/logs/{bundle}",
        f"/boards/{LONG_BOARD}",
        f"/boards/{BOARD}?lang=vi",
    ):
        page.goto(live_url + url)
        _fits(page, url)
    for section in ("#tags", "#agent", "#logs", "#data-usage"):
        assert page.locator(section).count() == 1, section
    # 17 tags: refused beside the form, named, in Vietnamese; the page still works
    page.fill("#tags input[name=tags]", " ".join(f"t{i}" for i in range(17)))
    page.click("button[data-action=save-tags]")
    page.wait_for_load_state()
    refusal = page.locator("#tags [role=alert]")
    assert "Nhãn" in refusal.inner_text()
    assert "Nhiều quá: tối đa 16 mục." in refusal.inner_text()
    _fits(page, "the refused tags form")
    page.click("a.lang")
    page.wait_for_load_state()
    assert page.url.endswith(f"/boards/{BOARD}?lang=en")
    assert page.locator("#tags h2").inner_text() == "Tags"
    # no script errors, no CSP violations: only the refusal's own 400
    assert [e for e in page.errors if "status of 400" not in e] == []

    viewer = new_page(chromium, viewport=PHONE)
    sign_in(viewer, live_url, "viewer")
    viewer.goto(f"{live_url}/boards/{BOARD}")
    _fits(viewer, "the viewer's board page")
    assert viewer.locator("#data-usage").count() == 1
    assert viewer.locator("#logs, #tags form, #data-usage form").count() == 0
