"""Rendering in Vietnamese (default) and English; grouped digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from fleet_server.notifications.models import Notice, Text
from fleet_server.notifications.templates import render, render_group
from tests.server.notifications.conftest import MLT_NAME, outbox_row

AT = datetime(2025, 5, 20, 0, 30, tzinfo=UTC)
NOTICE = Notice(
    kind="incident_opened",
    severity="critical",
    title=Text("Mất điện lưới", "Mains lost"),
    occurred_at=AT,
    site_id=10,
    site_name=MLT_NAME,
    board_id="lc-mlt-01",
    board_name="Bảng tin cổng A",
    incident_id=42,
    incident_class="technical",
    summary=Text("Pin UPS còn 80%.", "UPS at 80%."),
    details={"battery_percent": 80, "mains_voltage_v": None},
)


def test_vietnamese_subject_and_body() -> None:
    rendered = render(NOTICE, "vi")
    assert rendered.subject == (
        "[Khẩn cấp] Sự cố mới: Mất điện lưới — Bảng tin cổng A (lc-mlt-01),"
        " Cửa khẩu quốc tế Ma Lù Thàng"
    )
    body = rendered.body_text
    assert "Mức độ: Khẩn cấp" in body
    assert "Loại sự cố: Kỹ thuật" in body
    assert "Bảng tin: Bảng tin cổng A (lc-mlt-01)" in body
    assert "Thời điểm: 07:30 ngày 20/05/2025 (giờ Việt Nam)" in body
    assert "Mã sự cố: #42" in body
    assert "Nguyên nhân: Pin UPS còn 80%." in body
    assert "- Pin UPS: 80 %" in body
    assert "- mains_voltage_v: —" in body
    assert "Vui lòng không trả lời" in body


def test_english_falls_back_to_vietnamese_where_no_translation() -> None:
    rendered = render(replace(NOTICE, summary=Text("Chỉ có tiếng Việt")), "en")
    assert rendered.subject == (
        "[Critical] New incident: Mains lost — Bảng tin cổng A (lc-mlt-01),"
        " Ma Lu Thang International Border Gate"
    )
    assert "Time: 2025-05-20 07:30 (UTC+7)" in rendered.body_text
    assert "Chỉ có tiếng Việt" in rendered.body_text


def test_escalated_and_security_labels() -> None:
    escalated = replace(
        NOTICE, kind="incident_escalated", escalation_level=1, incident_class="security"
    )
    body = render(escalated, "vi").body_text
    assert "Sự cố được chuyển cấp xử lý" in body
    assert "Loại sự cố: An toàn thông tin" in body
    assert "Cấp xử lý: Danh sách chuyển cấp" in body


def test_subject_is_one_line() -> None:
    sneaky = replace(NOTICE, title=Text("Mất điện\r\nBcc: attacker@example.org", None))
    subject = render(sneaky, "vi").subject
    assert "\n" not in subject
    assert "\r" not in subject
    assert "Mất điện Bcc: attacker@example.org" in subject
    assert len(render(replace(NOTICE, title=Text("x" * 400)), "vi").subject) == 250


def test_group_digest_lists_every_notice_once_with_the_worst_severity() -> None:
    minor = replace(NOTICE, severity="minor", title=Text("Camera 2 mất tín hiệu"))
    rows = [outbox_row(minor, row_id=1), outbox_row(NOTICE, row_id=2)]
    digest = render_group(rows)
    assert digest.subject == "[Khẩn cấp] 2 thông báo tại Cửa khẩu quốc tế Ma Lù Thàng"
    assert "1. [Nhẹ] Sự cố mới: Camera 2 mất tín hiệu" in digest.body_text
    assert "2. [Khẩn cấp] Sự cố mới: Mất điện lưới" in digest.body_text
    assert digest.body_text.count("Vui lòng không trả lời") == 1
    assert render_group(rows[:1]).subject == rows[0].subject
