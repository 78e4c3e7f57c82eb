"""Reporting an incident (Điều 9.3) in a real browser (headless Chromium): a
Border Guard officer on a phone reports a camera problem with a photo from
the cameras page, and an operator at the desk sees it with the photo.
Screenshots go to build/test-artifacts/screenshots/."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.incidents.images import SECRET, png

pytestmark = pytest.mark.slow

BOARD = "lc-ma-lu-thang-01"  # a border gate whose cameras the Border Guard watches


def test_a_border_guard_reports_a_camera_problem_with_a_photo_from_a_phone(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    """Điều 9.3: "Cá nhân tham gia thực hiện nhiệm vụ trên Cụm Thông tin điện
    tử công cộng phải tuân thủ theo Điều 7 Luật An toàn thông tin mạng năm
    2015; Điều 8 Luật An ninh mạng năm 2018; khi phát hiện có sự cố mất an
    toàn thông tin trên hệ thống thiết bị phải kịp thời báo cho Cơ quan quản
    lý, vận hành để phối hợp với các cơ quan, đơn vị có liên quan xử lý theo
    quy định pháp luật." — the officer at the gate reports; the desk sees it."""
    guard = new_page(chromium, viewport=PHONE)
    sign_in(guard, live_url, "guard")
    guard.goto(f"{live_url}/cameras")
    guard.click("a[data-action=report-incident]")
    guard.wait_for_url("**/incidents/report")
    form = guard.locator("#report-form")
    camera_input = form.locator("input[data-photo=camera]")
    assert camera_input.get_attribute("capture") == "environment"
    assert camera_input.get_attribute("accept") == "image/*"
    form.locator("input[name=target]").fill(f"board:{BOARD}")
    assert form.locator("select[name=category] option").all_inner_texts() == [
        "Camera",
        "Màn hình",
    ]
    form.locator("select[name=category]").select_option("camera")
    form.locator("input[name=title]").fill("Camera cổng B bị che khuất")
    form.locator("textarea[name=description]").fill("Ống kính bị phủ bạt, không thấy làn xe.")
    camera_input.set_input_files(
        {"name": "IMG_20261206_0815.png", "mimeType": "image/png", "buffer": png()}
    )
    wide = guard.evaluate("document.documentElement.scrollWidth")
    assert wide <= PHONE["width"], f"the form is {wide}px wide on a {PHONE['width']}px phone"
    guard.screenshot(path=screenshots / "30-report-incident-phone.png", full_page=True)
    form.locator("button[data-action=report]").click()
    guard.wait_for_url(re.compile(r".*/incidents/\d+\?reported=sent$"))
    incident_id = int(re.search(r"/incidents/(\d+)", guard.url).group(1))  # type: ignore[union-attr]
    assert guard.locator("[data-confirm=reported]").inner_text() == (
        f"Đã gửi báo cáo: sự cố #{incident_id}."
        " Sự cố được chuyển tới người trực như mọi sự cố khác."
    )
    guard.locator(".photos img").first.wait_for()
    assert guard.locator(".photos img").count() == 1
    guard.screenshot(path=screenshots / "31-report-incident-sent.png", full_page=True)
    assert guard.errors == []
    guard.context.close()

    row = db_conn.execute(
        "SELECT i.rule, i.reported_by, r.category, a.content_type, a.data"
        " FROM incidents i JOIN incident_reports r ON r.incident_id = i.id"
        " JOIN incident_attachments a ON a.incident_id = i.id WHERE i.id = %s",
        (incident_id,),
    ).fetchone()
    assert row[:4] == ("camera_reported", "bien.phong", "camera", "image/png")
    assert SECRET not in bytes(row[4])

    desk = new_page(chromium)
    sign_in(desk, live_url, "operator")
    desk.goto(f"{live_url}/incidents")
    desk.click(f"#incident-{incident_id} .incident-title a")
    desk.wait_for_url(f"**/incidents/{incident_id}")
    assert desk.locator("[data-reporter]").get_attribute("data-reporter") == "bien.phong"
    assert "Ống kính bị phủ bạt" in desk.locator(".incident-report").inner_text()
    photo = desk.locator(".photos img").first
    photo.wait_for()
    desk.wait_for_function("() => document.querySelector('.photos img').complete")
    assert photo.evaluate("img => img.naturalWidth") == 2  # the 2x2 photo, decoded
    desk.screenshot(path=screenshots / "32-reported-incident-desk.png", full_page=True)
    assert desk.errors == []
    desk.context.close()
