"""The console in a real browser (headless Chromium): an operator watches the
fleet, opens a board and acknowledges an incident, then resolves it on the
incident's own page on a phone-sized screen; a ticket is assigned,
worked on a phone by the technician and closed; the Border Guard sees only
cameras. Screenshots go to build/test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.server.api.conftest import ACCOUNTS, PASSWORD, open_test_incident
from tests.server.api.console.fleet_state import (
    DAY_BOARD,
    add_picture,
    first_camera,
    open_ticket,
    record_day,
    report_cameras,
    report_pictures,
    roll_up,
    set_states,
)
from tests.support.clock import Clock

pytestmark = pytest.mark.slow
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000


def new_page(chromium: Any, *, viewport: dict[str, int] = DESKTOP) -> Any:
    context = chromium.new_context(viewport=viewport, locale="vi-VN")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors  # checked at the end: no CSP violations, no script errors
    return page


def sign_in(page: Any, base: str, key: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", ACCOUNTS[key].username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_operator_sees_fleet_opens_board_and_acknowledges(
    chromium: Any, live_url: str, db_conn: Any, clock: Clock, screenshots: Path
) -> None:
    set_states(db_conn, clock.now)
    record_day(db_conn, clock.now)
    incident = open_test_incident(db_conn, DAY_BOARD, "display_dark", now=clock.now)
    page = new_page(chromium)
    sign_in(page, live_url, "operator")

    assert page.url == f"{live_url}/"
    assert page.locator("h1").inner_text() == "Tổng quan hệ thống"
    markers = page.locator("svg.site-map circle.marker")
    assert markers.count() == 4  # bql-kkt runs the four border gates
    # Every board down at Ú Mà Tú Khoòng (lost) and Pa Nậm Cúm (offline); problems at
    # Mù Cả (stale) and Ma Lù Thàng (an open incident).
    assert page.locator("svg.site-map circle.h-offline").count() == 2
    assert page.locator("svg.site-map circle.h-degraded").count() == 2
    page.screenshot(path=screenshots / "01-overview.png", full_page=True)

    # A new incident appears without a reload (live region polling).
    open_test_incident(db_conn, "lc-pa-nam-cum-01", "board_offline", now=clock.now)
    page.locator("[data-live] .incident", has_text="lc-pa-nam-cum-01").first.wait_for()

    page.click(f"svg.site-map a.map-site[href='/sites/{_site_of(db_conn, DAY_BOARD)}']")
    page.wait_for_url("**/sites/*")
    page.click(f"a[href='/boards/{DAY_BOARD}']")
    page.wait_for_url(f"**/boards/{DAY_BOARD}")
    assert page.locator(".chart svg polyline.series").count() >= 5
    assert page.locator("svg.strip rect.band").count() >= 2
    page.screenshot(path=screenshots / "02-board.png", full_page=True)

    page.locator(f"#incident-{incident} button[data-action=acknowledge]").click()
    page.wait_for_url(f"**/boards/{DAY_BOARD}*")
    page.locator(f"#incident-{incident}", has_text="Đã tiếp nhận").wait_for()
    state = db_conn.execute("SELECT state FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert state == ("acknowledged",)
    page.screenshot(path=screenshots / "03-acknowledged.png", full_page=True)

    # From the incident list to the incident's own page, resolved there (on a phone).
    page.set_viewport_size(PHONE)
    page.goto(f"{live_url}/incidents")
    page.click(f"#incident-{incident} .incident-title a")
    page.wait_for_url(f"**/incidents/{incident}")
    assert page.locator(".timeline li").count() == 2  # opened, acknowledged
    page.click(f"#incident-{incident} details.resolve summary")
    # a long unbroken word in the note (a pasted link, a log line) wraps on a phone
    note = "Khởi động lại trình phát: " + "x" * 300
    page.fill(f"#incident-{incident} textarea[name=note]", note)
    page.click(f"#incident-{incident} button[data-action=resolve]")
    page.locator("[data-incident-state=resolved]").wait_for()
    assert page.locator(".timeline li[data-event=resolved]", has_text="van.hanh").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(f"{live_url}/incidents?state=resolved")
    assert page.locator(f"#incident-{incident}").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(f"{live_url}/incidents/{incident}")
    page.screenshot(path=screenshots / "03b-incident-resolved-phone.png", full_page=True)

    # The board's pictures on a phone: the screen and a camera, never wider than the screen.
    report_pictures(db_conn, DAY_BOARD, clock.now, screen={"frozen": True}, camera={})
    add_picture(db_conn, DAY_BOARD, clock.now, size=(960, 540))
    add_picture(db_conn, DAY_BOARD, clock.now, camera_id=first_camera(db_conn, DAY_BOARD))
    page.goto(f"{live_url}/boards/{DAY_BOARD}")
    page.locator("#pictures").scroll_into_view_if_needed()
    pictures = page.locator("#pictures img")
    assert pictures.count() == 2
    for n in range(2):
        pictures.nth(n).scroll_into_view_if_needed()
        assert pictures.nth(n).evaluate("i => i.decode().then(() => i.naturalWidth)") == 16
    widths = page.eval_on_selector_all(
        "#pictures img", "imgs => imgs.map(i => i.getBoundingClientRect().right)"
    )
    assert max(widths) <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshots / "03c-board-pictures-phone.png", full_page=True)
    page.set_viewport_size(DESKTOP)

    page.goto(f"{live_url}/boards/{DAY_BOARD}")
    page.click("a[hreflang=en]")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.get_by_text("Latest readings").count() == 1
    assert page.errors == []
    page.context.close()


def test_board_charts_are_drawn_from_the_data_on_a_phone(
    chromium: Any, live_url: str, db_conn: Any, db_owner: Any, clock: Clock, screenshots: Path
) -> None:
    set_states(db_conn, clock.now)
    record_day(db_conn, clock.now)
    roll_up(db_owner, clock.now - timedelta(hours=26), clock.now)
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/boards/{DAY_BOARD}")
    charts = page.locator("figure.chart svg.chart-drawn")
    charts.first.wait_for()
    assert charts.count() == 6
    # The two silent hours split the network round trip into two runs.
    assert page.locator("figure[data-chart='2'] svg polyline.series").count() >= 2
    # Local hours on the time axis (00, 06, 12, 18: three or four in 24 h).
    ticks = page.eval_on_selector_all(
        "figure[data-chart='0'] svg text.tick", "texts => texts.map(t => t.textContent)"
    )
    hours = [t for t in ticks if t.endswith(":00")]
    assert 3 <= len(hours) <= 5
    assert set(hours) <= {"00:00", "06:00", "12:00", "18:00"}
    right = page.eval_on_selector_all(
        "figure.chart svg", "svgs => svgs.map(s => s.getBoundingClientRect().right)"
    )
    assert max(right) <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator("#charts").screenshot(path=screenshots / "02b-board-charts-phone.png")
    assert page.errors == []  # no CSP violation, no script error
    page.context.close()


def _site_of(conn: Any, board_id: str) -> int:
    row = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone()
    return int(row[0])


def test_ticket_assigned_worked_on_a_phone_and_closed(
    chromium: Any, live_url: str, db_conn: Any, clock: Clock, screenshots: Path
) -> None:
    ticket = open_ticket(db_conn, "lc-mu-ca-01", clock.now, "Mất nguồn UPS / UPS down")
    operator = new_page(chromium)
    sign_in(operator, live_url, "operator")
    operator.goto(f"{live_url}/tickets")
    operator.click(f"a[href='/tickets/{ticket}'] >> nth=0")
    operator.select_option("#assign-form select[name=assignee]", ACCOUNTS["technician"].username)
    operator.locator("#assign-form").screenshot(path=screenshots / "04a-assign-form.png")
    operator.click("#assign-form button[type=submit]")
    operator.locator("[data-ticket-state=assigned]").wait_for()

    technician = new_page(chromium, viewport=PHONE)
    sign_in(technician, live_url, "technician")
    technician.goto(f"{live_url}/tickets")  # a technician's queue: their own tickets
    technician.click(f"a[href='/tickets/{ticket}'] >> nth=0")
    for state in ("in_progress", "resolved"):
        technician.select_option("#transition-form select[name=to]", state)
        technician.click("#transition-form button[type=submit]")
        technician.locator(f"[data-ticket-state={state}]").wait_for()
        if state == "in_progress":
            technician.click("text=Ghi chi phí")
            technician.fill("input[name=description]", "Thay ắc quy UPS")
            technician.fill("input[name=amount_vnd]", "1.500.000")
            technician.click("form[action$='/cost'] button[type=submit]")
            technician.locator("td.num", has_text="1.500.000").first.wait_for()
    technician.screenshot(path=screenshots / "04-ticket-phone.png", full_page=True)

    operator.reload()
    operator.select_option("#transition-form select[name=to]", "closed")
    operator.fill("#transition-form textarea[name=note]", "Đã thay ắc quy, bảng chạy ổn định")
    operator.click("#transition-form button[type=submit]")
    operator.locator("[data-ticket-state=closed]").wait_for()
    operator.screenshot(path=screenshots / "05-ticket-closed.png", full_page=True)
    row = db_conn.execute(
        "SELECT state, assignee, closing_note FROM tickets WHERE id = %s", (ticket,)
    ).fetchone()
    assert row == ("closed", "ky.thuat", "Đã thay ắc quy, bảng chạy ổn định")
    assert operator.errors == []
    assert technician.errors == []
    operator.context.close()
    technician.context.close()


def test_border_guard_sees_only_cameras(
    chromium: Any, live_url: str, db_conn: Any, clock: Clock, screenshots: Path
) -> None:
    set_states(db_conn, clock.now)
    report_cameras(db_conn, clock.now)
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "guard")

    assert page.url == f"{live_url}/cameras"
    assert page.locator("nav.menu a").all_inner_texts() == ["Camera"]
    assert page.locator("table.cameras tbody tr").count() > 0
    assert page.locator("tr.cam-failing").count() == 1
    page.screenshot(path=screenshots / "06-border-guard-cameras.png", full_page=True)

    page.goto(f"{live_url}/")
    assert page.url == f"{live_url}/cameras"
    assert page.errors == []
    answer = page.goto(f"{live_url}/boards/{DAY_BOARD}")
    assert answer is not None
    assert answer.status == 403
    assert "không có quyền" in page.locator("main").inner_text()
    page.screenshot(path=screenshots / "07-border-guard-refused.png")
    page.context.close()
