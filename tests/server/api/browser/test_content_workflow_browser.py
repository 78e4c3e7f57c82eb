"""The content workflow (Điều 10.1) in a real browser (headless Chromium): a
supplying unit submits an item on a phone, the Department's appraiser starts
appraisal and returns it with a comment, the unit reads the comment and
resubmits on its phone, the appraiser approves it; each form answers with a
confirmation. Screenshots go to build/test-artifacts/screenshots/.

Điều 10.1.a: the Department "Chủ trì tiếp nhận thông tin, thẩm định, biên tập,
cập nhật thông tin lên các Cụm Thông tin điện tử công cộng khu vực biên giới
vào các ngày làm việc trong tuần, đảm bảo theo quy định của pháp luật."
Điều 10.1.c: Báo Lai Châu "Định kỳ vào ngày 20 hàng tháng chủ động cung cấp
tối thiểu 01 nội dung …".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.api.conftest import PASSWORD
from tests.support import seed

pytestmark = pytest.mark.slow

SHA_FIRST = "5a" * 32
SHA_SECOND = "5b" * 32


@pytest.fixture
def paper(db_conn: Any, password_hash: str) -> None:
    org = seed.organisation(db_conn, "bao-lai-chau", "Báo Lai Châu")
    db_conn.execute(
        "INSERT INTO content_suppliers (name, organisation_id, obligation, obligation_from)"
        " VALUES ('Báo Lai Châu', %s, 'monthly', '2026-01-01')",
        (org,),
    )
    seed.user(db_conn, "bao.lc", "supplier", organisation=org, password_hash=password_hash)


def sign_in_as(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def notice(page: Any) -> str:
    return str(page.locator("[role=status][data-done]").inner_text())


@pytest.mark.usefixtures("paper")
def test_submit_return_resubmit_approve(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    unit = new_page(chromium, viewport=PHONE)
    sign_in_as(unit, live_url, "bao.lc")
    unit.wait_for_url("**/content/submissions")
    form = unit.locator("#submit-form")
    form.locator("input[name=title]").fill("Phóng sự: Lễ hội Nàng Han")
    form.locator("select[name=category]").select_option(value="border_external")
    form.locator("select[name=language]").select_option(value="vi-en")
    form.locator("input[name=sha256]").fill(SHA_FIRST)
    form.locator("textarea[name=description]").fill("5 phút, song ngữ")
    unit.screenshot(path=screenshots / "40-content-submit-phone.png", full_page=True)
    assert unit.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    form.locator("button[type=submit]").click()
    unit.wait_for_url("**/content/submissions/*?done=submit")
    assert notice(unit) == "Đã gửi nội dung."
    item = unit.url.split("?")[0]
    assert unit.locator("[data-state]").inner_text() == "Đã gửi"
    assert unit.locator("#actions").count() == 0  # nothing to do while it waits

    appraiser = new_page(chromium)
    sign_in(appraiser, live_url, "admin")
    appraiser.goto(f"{live_url}/content/submissions?state=submitted")
    appraiser.locator("tr", has_text="Lễ hội Nàng Han").locator("a").click()
    appraiser.locator("#appraise-form button").click()
    appraiser.wait_for_url("**?done=start_appraisal")
    assert notice(appraiser) == "Đã bắt đầu thẩm định."
    returned = appraiser.locator("#return-form")
    returned.locator("textarea[name=comment]").fill("Phụ đề tiếng Anh chưa khớp lời thoại")
    returned.locator("button[type=submit]").click()
    appraiser.wait_for_url("**?done=return")
    assert notice(appraiser) == "Đã trả lại kèm ý kiến."

    unit.goto(item)
    assert "Phụ đề tiếng Anh chưa khớp lời thoại" in unit.locator("#history").inner_text()
    again = unit.locator("#resubmit-form")
    again.locator("input[name=sha256]").fill(SHA_SECOND)
    again.locator("textarea[name=comment]").fill("Đã sửa phụ đề")
    unit.screenshot(path=screenshots / "41-content-resubmit-phone.png", full_page=True)
    again.locator("button[type=submit]").click()
    unit.wait_for_url("**?done=resubmit")
    assert notice(unit) == "Đã gửi lại."
    # the phone shows the form without sideways scrolling
    assert unit.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    appraiser.goto(item)
    appraiser.locator("#appraise-form button").click()
    appraiser.wait_for_url("**?done=start_appraisal")
    appraiser.locator("#approve-form button[type=submit]").click()
    appraiser.wait_for_url("**?done=approve")
    assert notice(appraiser) == "Đã phê duyệt: nội dung được đưa vào danh mục."
    assert appraiser.locator("[data-state]").inner_text() == "Đã phê duyệt"
    history = [a.get_attribute("data-action") for a in appraiser.locator("#history li").all()]
    assert history == [
        "submit",
        "start_appraisal",
        "return",
        "resubmit",
        "start_appraisal",
        "approve",
    ]
    appraiser.screenshot(path=screenshots / "42-content-approved.png", full_page=True)
    row = db_conn.execute(
        "SELECT c.sha256, c.kind FROM content_submissions s JOIN content_items c"
        " ON c.id = s.content_id"
    ).fetchone()
    assert row == (SHA_SECOND, "propaganda")
    assert unit.errors == []
    assert appraiser.errors == []
