"""The operational pages in a real browser (headless Chromium): an operator
on a phone opens a ticket from an incident, in Vietnamese and in English; an
operator plans a maintenance window; an administrator sets a rule threshold.
Each form ends on a page that says what was done. Screenshots go to
build/test-artifacts/screenshots/."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fleet_server.localtime import LOCAL_TZ
from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.api.conftest import open_test_incident
from tests.support.clock import Clock

pytestmark = pytest.mark.slow

BOARD = "lc-ma-lu-thang-01"


def fits(page: Any) -> None:
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"the page is {wide}px wide on a {PHONE['width']}px phone"


@pytest.mark.parametrize(
    ("lang", "link", "confirmation"),
    [
        ("vi", "Tạo phiếu bảo trì", "Đã tạo phiếu bảo trì."),
        ("en", "Open a ticket", "Ticket created."),
    ],
)
def test_an_operator_opens_a_ticket_from_an_incident_on_a_phone(
    chromium: Any,
    live_url: str,
    db_conn: Any,
    clock: Clock,
    screenshots: Path,
    lang: str,
    link: str,
    confirmation: str,
) -> None:
    incident = open_test_incident(db_conn, BOARD, "display_dark", now=clock.now)
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/incidents/{incident}?lang={lang}")
    button = page.locator("a[data-action=new-ticket]")
    assert button.inner_text() == link
    button.click()
    page.wait_for_url(f"**/tickets/new?incident_id={incident}")
    form = page.locator("#new-ticket")
    assert form.locator("input[name=where]").input_value().endswith(f"[board:{BOARD}]")
    assert form.locator("select[name=priority]").input_value() == "high"  # a major incident
    assert form.locator(f"[data-linked-incident='{incident}']").count() == 1
    form.locator("input[name=title]").fill("Thay đèn nền màn hình")
    form.locator("textarea[name=description]").fill("Màn hình tối một nửa")
    fits(page)
    page.screenshot(path=screenshots / f"40-new-ticket-phone-{lang}.png", full_page=True)
    form.locator("button[data-action=create-ticket]").click()
    page.wait_for_url(re.compile(r".*/tickets/\d+\?flash=ticket_created$"))
    assert page.locator("[data-flash]").inner_text() == confirmation
    assert "Thay đèn nền màn hình" in page.locator("h1").inner_text()
    fits(page)
    assert page.errors == []
    page.context.close()
    ticket_id = int(re.search(r"/tickets/(\d+)", page.url).group(1))  # type: ignore[union-attr]
    linked = db_conn.execute(
        "SELECT incident_id FROM ticket_incidents WHERE ticket_id = %s", (ticket_id,)
    ).fetchall()
    assert linked == [(incident,)]


def test_an_operator_plans_a_maintenance_window(
    chromium: Any, live_url: str, db_conn: Any, clock: Clock, screenshots: Path
) -> None:
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/")
    page.locator("nav.menu a[href='/maintenance']").click()
    page.wait_for_url("**/maintenance")
    page.locator("#plan summary").click()
    form = page.locator("#new-window")
    # the picker: typing part of the board's id (accents optional) fetches
    # suggestions from /search/places into the input's datalist
    picker = form.locator("input[name=where]")
    picker.press_sequentially("ma-lu-thang-01", delay=20)
    suggestion = form.locator(f"#where-places option[value$='[board:{BOARD}]']")
    suggestion.wait_for(state="attached")
    picker.fill(suggestion.get_attribute("value") or "")
    start = (clock.now + timedelta(hours=1)).astimezone(LOCAL_TZ).replace(second=0, microsecond=0)
    form.locator("input[name=starts_at]").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=ends_at]").fill(
        (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    )
    form.locator("select[name=recurrence]").select_option("none")
    form.locator("textarea[name=reason]").fill("Thay bộ nguồn UPS")
    # the end typed before the start: refused on the page, nothing typed lost
    form.locator("input[name=ends_at]").fill(
        (start - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    )
    form.locator("button[data-action=create-window]").click()
    page.wait_for_load_state()
    refusal = page.locator("#plan .refusal")
    assert refusal.is_visible()
    assert "Mục cần sửa: Kết thúc." in refusal.inner_text()
    assert "Thời điểm kết thúc phải sau thời điểm bắt đầu." in refusal.inner_text()
    form = page.locator("#new-window")
    assert form.locator("input[name=ends_at]").get_attribute("aria-invalid") == "true"
    assert form.locator("textarea[name=reason]").input_value() == "Thay bộ nguồn UPS"
    assert form.locator("input[name=where]").input_value().endswith(f"[board:{BOARD}]")
    assert form.locator("input[name=starts_at]").input_value() == start.strftime("%Y-%m-%dT%H:%M")
    fits(page)
    page.screenshot(path=screenshots / "41-maintenance-refused-phone.png", full_page=True)
    assert [e for e in page.errors if "status of 400" not in e] == []  # the refusal's own 400
    page.errors.clear()
    form.locator("input[name=ends_at]").fill(
        (start + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M")
    )
    form.locator("button[data-action=create-window]").click()
    page.wait_for_url("**/maintenance?flash=maintenance_created")
    assert page.locator("[data-flash]").inner_text().startswith("Đã lập lịch bảo trì.")
    row = page.locator("#others tr[data-window]")
    assert row.count() == 1
    assert start.strftime("%H:%M %d/%m/%Y") in row.inner_text()  # Vietnam time, as typed
    assert row.locator("[data-status=planned]").count() == 1
    page.screenshot(path=screenshots / "41-maintenance-phone.png", full_page=True)
    fits(page)
    assert page.errors == []
    page.context.close()
    stored = db_conn.execute(
        "SELECT board_id, starts_at, reason FROM maintenance_windows"
    ).fetchone()
    assert stored == (BOARD, start, "Thay bộ nguồn UPS")


def test_an_admin_sets_a_rule_threshold(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    page = new_page(chromium)
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/rules")
    rule = page.locator("#rule-overheating")
    assert "Bộ điều khiển quá nhiệt" in rule.locator("h2").inner_text()
    assert "75 °C" in rule.locator(".facts").inner_text()
    rule.locator("details.set-threshold summary").click()
    rule.locator("input[name=place]").fill(BOARD)  # the picker: a board id typed
    rule.locator("input[name=p_open_above]").fill("80")
    rule.locator("input[name=p_clear_below]").fill("72")
    rule.locator("button[data-action=set-threshold]").click()
    page.wait_for_url("**/rules?flash=threshold_set#rule-overheating")
    assert page.locator("[data-flash]").inner_text().startswith("Đã lưu ngưỡng riêng")
    override = page.locator("#rule-overheating [data-override]")
    assert "80 °C" in override.inner_text()
    assert "72 °C" in override.inner_text()
    page.screenshot(path=screenshots / "42-rule-threshold.png", full_page=True)
    assert page.errors == []
    page.context.close()
    params = db_conn.execute(
        "SELECT params FROM rule_overrides WHERE rule = 'overheating' AND board_id = %s", (BOARD,)
    ).fetchone()
    assert params == ({"open_above": 80, "clear_below": 72},)
