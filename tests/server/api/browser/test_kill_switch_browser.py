"""The kill switch (Điều 12.2) in a real browser (headless Chromium, on a
phone): an operator opens an unapproved-content incident, blanks its board
with a confirmation and a reason, lands on the board page with the command
queued, sees the board's answer and the board "blanked by order", and
resumes it. Screenshots go to build/test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.api.conftest import open_test_incident
from tests.server.commands.conftest import answer
from tests.server.engine.conftest import Store

pytestmark = pytest.mark.slow

BOARD = "lc-ma-lu-thang-01"  # the operator's organisation
REASON = "Tệp quảng cáo chưa được duyệt đang phát"


def _commands(conn: Any) -> list[tuple[str, str, Any]]:
    return [
        (r[0], r[1], r[2])
        for r in conn.execute(
            "SELECT request_id, command, args FROM board_commands ORDER BY id"
        ).fetchall()
    ]


def test_an_operator_blanks_a_board_from_an_unapproved_content_incident(
    chromium: Any, live_url: str, db_conn: Any, store: Store, screenshots: Path
) -> None:
    """Điều 12.2: "… áp dụng các biện pháp cần thiết nhằm kịp thời ngăn chặn
    những thiệt hại …" — one click from the incident, a confirmation and a
    reason, and the board's screen goes black."""
    incident = open_test_incident(
        db_conn, BOARD, "content_unapproved", incident_class="security", severity="critical"
    )
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/incidents/{incident}")
    panel = page.locator("#kill-switch")
    assert "ngăn chặn những thiệt hại" in panel.inner_text()  # the article, quoted
    form = panel.locator("details.kill-blank_screen form")
    assert form.is_visible()  # open at once on the incident: one click away
    reason = form.locator("textarea[name=reason]")
    assert reason.input_value() == f"Sự cố #{incident}: content_unapproved on {BOARD}"
    # Without the confirmation box the browser does not send the form.
    form.locator("button[data-command=blank_screen]").click()
    assert page.url.endswith(f"/incidents/{incident}")
    assert _commands(db_conn) == []
    reason.fill(REASON)
    form.locator("input[name=confirm]").check()
    panel.screenshot(path=screenshots / "30-kill-switch-incident.png")
    form.locator("button[data-command=blank_screen]").click()
    page.wait_for_url(f"**/boards/{BOARD}?kill=blank_screen&incident={incident}#kill-switch")
    [(request_id, command, args)] = _commands(db_conn)
    assert (command, args) == ("blank_screen", {"reason": REASON})
    notice = page.locator("[data-kill-notice=blank_screen]")
    assert notice.inner_text().startswith("Đã gửi lệnh «Tắt màn hình (tắt khẩn)»")
    row = page.locator(f"#command-{request_id}")
    assert row.get_attribute("data-state") == "queued"  # no board connected yet
    assert REASON in row.inner_text()
    page.screenshot(path=screenshots / "31-kill-switch-queued.png", full_page=True)

    # The board answers and reports its screen blanked by order.
    answer(
        store,
        BOARD,
        request_id,
        "blank_screen",
        output={"halted": "blank_screen", "detail": "screen blanked (vcgencmd)"},
    )
    store.reading(
        BOARD,
        fp.TelemetryKind.DISPLAY,
        fp.DisplayData(screen_on=False, player_running=False, halted="blank_screen"),
    )
    page.locator(f"#command-{request_id}[data-state=succeeded]").wait_for()  # live region
    page.goto(f"{live_url}/boards/{BOARD}")
    assert page.locator("[data-board-halted=blank_screen]").inner_text() == (
        "Màn hình đã tắt theo lệnh"
    )
    page.screenshot(path=screenshots / "32-kill-switch-blanked.png", full_page=True)
    resume = page.locator("#kill-switch form:has(button[data-command=resume])")
    resume.locator("textarea[name=reason]").fill("Đã gỡ tệp khỏi danh sách phát")
    resume.locator("button[data-command=resume]").click()
    page.wait_for_url(f"**/boards/{BOARD}?kill=resume#kill-switch")
    assert [c[1] for c in _commands(db_conn)] == ["blank_screen", "resume"]

    # The incident's timeline names the order.
    page.goto(f"{live_url}/incidents/{incident}")
    assert f"blank_screen ({request_id}): {REASON}" in page.locator(".timeline").inner_text()
    assert page.errors == []
