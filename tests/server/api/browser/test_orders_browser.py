"""Emergency orders (Điều 8.2) on the console's reports page, in a real
browser (headless Chromium): an admin records an order of a competent
authority with its document and the sites and boards it covers, and revokes
one with a reason on a phone; a compliance reader sees the orders but no
form; and the reports page shows a day over its advertising ceiling
(Điều 8.3). Screenshots go to build/test-artifacts/screenshots/."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from fleet_server.compliance.models import local_day
from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.support.clock import Clock

pytestmark = pytest.mark.slow


def _sites(conn: Any, count: int) -> list[tuple[int, str]]:
    return [
        (int(r[0]), r[1])
        for r in conn.execute("SELECT id, name FROM sites ORDER BY name LIMIT %s", (count,))
    ]


def _order(conn: Any, number: str) -> int:
    row = conn.execute(
        "INSERT INTO emergency_orders (authority, document_number, document_date, starts_at,"
        " ends_at, all_sites, created_by) VALUES ('Ban Chỉ huy PCTT tỉnh', %s, '2026-11-19',"
        " '2026-11-20T06:00+07', '2026-11-20T19:00+07', true, 'quan.tri') RETURNING id",
        (number,),
    ).fetchone()
    return int(row[0])


def test_an_admin_records_an_order_for_sites_and_a_board(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    """Điều 8.2: "… thì thời lượng và khung giờ phát thông tin thực hiện theo
    yêu cầu của các cơ quan, đơn vị có thẩm quyền" — the admin records who
    asked, by which document, when, where and for how long (Vietnam time)."""
    (first_id, first), (second_id, second) = _sites(db_conn, 2)
    board = db_conn.execute("SELECT id FROM boards ORDER BY id DESC LIMIT 1").fetchone()[0]
    page = new_page(chromium)
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/reports")
    form = page.locator("form[action='/reports/emergency-orders']")
    form.locator("input[name=authority]").fill("UBND tỉnh Lai Châu")
    form.locator("input[name=document_number]").fill("45/QĐ-UBND")
    form.locator("input[name=document_date]").fill("2026-11-19")
    form.locator("input[name=starts_at]").fill("2026-11-20T06:00")
    form.locator("input[name=ends_at]").fill("2026-11-20T19:00")
    form.locator("input[name=summary]").fill("Mưa lũ, sạt lở đất")
    pickers = form.locator("input[name=site]")  # the place picker: names typed
    pickers.nth(0).fill(first)
    pickers.nth(1).fill(second)
    form.locator("input[name=board_ids]").fill(board)
    form.screenshot(path=screenshots / "20-order-form.png")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/reports?order=saved*")
    assert page.locator("#emergency-orders [role=status]").inner_text() == (
        "Đã ghi nhận lệnh; các ngày liên quan sẽ được đánh giá lại."
    )
    row = page.locator("#emergency-orders tr", has_text="45/QĐ-UBND")
    assert row.locator("td[data-label='Phạm vi']").inner_text() == "2 điểm, 1 bảng"
    assert "06:00 20/11/2026 – 19:00 20/11/2026" in row.inner_text()
    page.screenshot(path=screenshots / "21-order-recorded.png", full_page=True)

    order = db_conn.execute(
        "SELECT id, authority, document_date, starts_at, ends_at, all_sites, summary,"
        " created_by FROM emergency_orders WHERE document_number = '45/QĐ-UBND'"
    ).fetchone()
    order_id, *fields = order
    assert fields[0] == "UBND tỉnh Lai Châu"
    assert str(fields[1]) == "2026-11-19"
    assert fields[2].isoformat() == "2026-11-19T23:00:00+00:00"  # 06:00 in Lai Châu
    assert fields[3].isoformat() == "2026-11-20T12:00:00+00:00"
    assert fields[4:] == [False, "Mưa lũ, sạt lở đất", "quan.tri"]
    sites = db_conn.execute(
        "SELECT site_id FROM emergency_order_sites WHERE order_id = %s ORDER BY site_id",
        (order_id,),
    ).fetchall()
    assert [s[0] for s in sites] == sorted([first_id, second_id])
    boards = db_conn.execute(
        "SELECT board_id FROM emergency_order_boards WHERE order_id = %s", (order_id,)
    ).fetchall()
    assert boards == [(board,)]
    audited = db_conn.execute(
        "SELECT actor FROM audit_log WHERE action = 'emergency_order.create' AND target_id = %s",
        (str(order_id),),
    ).fetchall()
    assert audited == [("quan.tri",)]
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize(
    ("boards", "ends", "reason"),
    [
        ("", "2026-11-20T19:00", "Hãy chọn các điểm lắp đặt hoặc bảng tin mà lệnh áp dụng"),
        ("lc-khong-co-01", "2026-11-20T19:00", "Không có bảng tin này."),
        ("", "2026-11-20T05:00", "Thời điểm kết thúc phải sau thời điểm bắt đầu."),
    ],
)
def test_a_bad_order_is_refused_saying_what_is_wrong(
    chromium: Any, live_url: str, db_conn: Any, boards: str, ends: str, reason: str
) -> None:
    """Điều 8.2: an order applies to the places the authority names, for the
    period it gives; a form that names no place, a board that does not
    exist or a period that ends before it starts is refused: the reports
    page comes back with what was typed and says which; nothing is recorded."""
    page = new_page(chromium)
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/reports")
    form = page.locator("form[action='/reports/emergency-orders']")
    form.locator("input[name=authority]").fill("UBND tỉnh Lai Châu")
    form.locator("input[name=document_number]").fill("46/QĐ-UBND")
    form.locator("input[name=document_date]").fill("2026-11-19")
    form.locator("input[name=starts_at]").fill("2026-11-20T06:00")
    form.locator("input[name=ends_at]").fill(ends)
    form.locator("input[name=board_ids]").fill(boards)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    refusal = page.locator("#emergency-orders .refusal")
    assert reason in refusal.locator(".reason").inner_text()
    form = page.locator("form[action='/reports/emergency-orders']")
    assert form.locator("input[name=document_number]").input_value() == "46/QĐ-UBND"
    assert form.locator("input[name=board_ids]").input_value() == boards
    assert db_conn.execute("SELECT count(*) FROM emergency_orders").fetchone() == (0,)
    page.context.close()


def test_an_admin_revokes_an_order_with_a_reason_on_a_phone(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    """Điều 8.2: an order recorded in error is withdrawn with a reason (on a
    phone-sized screen); it stays listed as revoked and its days are judged
    again."""
    order_id = _order(db_conn, "47/QĐ-BCH")
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/reports#emergency-orders")
    revoke = page.locator(f"form[action='/reports/emergency-orders/{order_id}/revoke']")
    revoke.scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshots / "22-order-phone.png", full_page=True)
    revoke.locator("input[name=reason]").fill("Nhầm số văn bản")
    revoke.locator("button[type=submit]").click()
    page.wait_for_url("**/reports?order=revoked*")
    assert page.locator("#emergency-orders [role=status]").inner_text() == (
        "Đã thu hồi lệnh; các ngày liên quan sẽ được đánh giá lại."
    )
    row = page.locator("#emergency-orders tr", has_text="47/QĐ-BCH")
    assert "đã thu hồi" in row.inner_text()
    assert row.locator("form").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=screenshots / "23-order-revoked-phone.png", full_page=True)
    revoked = db_conn.execute(
        "SELECT revoked_by, revoke_reason, revoked_at IS NOT NULL FROM emergency_orders"
        " WHERE id = %s",
        (order_id,),
    ).fetchone()
    assert revoked == ("quan.tri", "Nhầm số văn bản", True)
    # the budget page's entry form on the same phone: its long selects (the
    # organisation, the budget line) shrink to the screen
    page.goto(f"{live_url}/reports/budget")
    assert page.locator("select[name=line]").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("reader", ["province", "operator"])
def test_a_compliance_reader_sees_the_orders_but_no_form(
    chromium: Any, live_url: str, db_conn: Any, reader: str
) -> None:
    """Điều 8.2: who must comply sees which orders are in force; only an
    admin records or revokes them."""
    order_id = _order(db_conn, "48/QĐ-BCH")
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, reader)
    page.goto(f"{live_url}/reports")
    row = page.locator("#emergency-orders tr", has_text="48/QĐ-BCH")
    assert "Ban Chỉ huy PCTT tỉnh" in row.inner_text()
    assert row.locator("td[data-label='Phạm vi']").inner_text() == "Toàn tỉnh"
    assert page.locator("form[action='/reports/emergency-orders']").count() == 0
    assert page.locator(f"form[action$='/{order_id}/revoke']").count() == 0
    assert page.locator("#emergency-orders form").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.errors == []
    page.context.close()


def test_a_day_over_its_advertising_ceiling_is_shown_with_the_ceiling(
    chromium: Any, live_url: str, db_conn: Any, clock: Clock, screenshots: Path
) -> None:
    """Điều 8.3: "Thời lượng đăng phát thông tin quảng cáo thực hiện theo quy
    định của pháp luật về quảng cáo" — the reports page counts the days over
    the configured ceiling and lists each with its share and the ceiling it
    was judged with, even when the broadcast minimum was met."""
    board = db_conn.execute("SELECT id FROM boards ORDER BY id LIMIT 1").fetchone()[0]
    day = local_day(clock.now) - timedelta(days=1)
    db_conn.execute(
        "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
        " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
        " afternoon_unknown, status, basis, counted_minutes, advertising_share_percent,"
        " advertising_ceiling_percent, advertising_ceiling_from) VALUES (%s, %s, 180, 180,"
        " 420, 60, 0, 0, 0, 'compliant', '{}', 360, 14.29, 10, 'fleet')",
        (board, day),
    )
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "province")
    page.goto(f"{live_url}/reports")
    assert page.locator("[data-count=advertising-over]").inner_text() == "1 vượt mức quảng cáo"
    row = page.locator("table.list tr", has_text=day.strftime("%d/%m/%Y"))
    cell = row.locator("td.advertising-over")
    assert cell.inner_text() == "14,3\xa0% / 10,0\xa0%\nvượt mức quảng cáo"
    assert row.locator(".badge", has_text="Đạt").count() == 1
    row.screenshot(path=screenshots / "24-advertising-over-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert page.errors == []
    page.context.close()
