"""What a notice says: the place by name, the cause in words, the readings as
people read them, the time in Vietnam time, a link to the console page when
FLEET_CONSOLE_BASE_URL is set (none without it), and a subject that names
each thing once — in Vietnamese first and in English."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from fleet_server.engine.telemetry_rules import DEFAULTS
from fleet_server.errors import ConfigError
from fleet_server.incidents.notices import cause
from fleet_server.notifications import enqueue
from fleet_server.notifications.models import Notice, SmtpSettings, Text
from fleet_server.notifications.models import NotificationSettings as Settings
from fleet_server.notifications.templates import link_for, reading, render, render_group
from fleet_server.vocabulary import Language
from tests.server.notifications.conftest import (
    MLT_NAME,
    START,
    add_contact,
    add_route,
    make_notice,
    outbox_row,
)

AT = datetime(2026, 12, 6, 13, 5, tzinfo=UTC)  # 20:05 in Lai Châu
SITE_DOWN = Notice(
    kind="site_incident",
    severity="critical",
    title=Text(
        "Toàn điểm mất liên lạc (mất điện lưới, 2 bảng)", "Whole site down (mains power, 2 boards)"
    ),
    occurred_at=AT,
    site_id=10,
    site_name=MLT_NAME,
    incident_id=27,
    incident_class="technical",
    incident_kind="site_outage",
    summary=Text(
        "Mất điện lưới tại điểm: 2 bảng mất liên lạc cùng lúc sau khi báo mất điện lưới.",
        "Mains power lost at the site: 2 boards went silent together after reporting mains lost.",
    ),
    details={
        "boards_down": 2,
        "boards": "lc-mlt-01, lc-mlt-02",
        "last_seen_at": "2026-12-06T13:01:30+00:00",
        "mains_present": False,
        "battery_percent": 12,
        "runtime_s": 195,
        "signal_percent": 61,
    },
    link_path="/incidents/27",
)
BOARD_LOST = Notice(
    kind="incident_opened",
    severity="major",
    title=Text("Mất kết nối với bảng", "Board lost"),
    occurred_at=AT,
    site_id=10,
    site_name=MLT_NAME,
    board_id="lc-mlt-01",
    board_name="Bảng tin cổng A",
    incident_id=28,
    incident_class="technical",
    link_path="/incidents/28",
)


def test_a_site_outage_says_where_why_what_was_measured_and_when() -> None:
    vi = render(SITE_DOWN, "vi")
    assert vi.subject == (
        "[Khẩn cấp] Sự cố toàn điểm lắp đặt: Toàn điểm mất liên lạc (mất điện lưới, 2 bảng)"
        " — Cửa khẩu quốc tế Ma Lù Thàng"
    )
    body = vi.body_text
    assert "Điểm lắp đặt: Cửa khẩu quốc tế Ma Lù Thàng" in body
    assert "Nguyên nhân: Mất điện lưới tại điểm: 2 bảng mất liên lạc cùng lúc" in body
    assert "Thời điểm: 20:05 ngày 06/12/2026 (giờ Việt Nam)" in body
    assert "- Số bảng mất liên lạc: 2" in body
    assert "- Các bảng: lc-mlt-01, lc-mlt-02" in body
    assert "- Liên lạc lần cuối: 20:01 ngày 06/12/2026 (giờ Việt Nam)" in body
    assert "- Điện lưới: không" in body
    assert "- Pin UPS: 12 %" in body
    assert "- UPS còn chạy được: 3 phút 15 giây" in body
    assert "- Sóng di động: 61 %" in body
    assert "Mã sự cố: #27" in body


def test_the_same_in_english() -> None:
    en = render(SITE_DOWN, "en")
    assert en.subject == (
        "[Critical] Site-wide incident: Whole site down (mains power, 2 boards)"
        " — Ma Lu Thang International Border Gate"
    )
    body = en.body_text
    assert "Site: Ma Lu Thang International Border Gate" in body
    assert "Cause: Mains power lost at the site" in body
    assert "Time: 2026-12-06 20:05 (UTC+7)" in body
    assert "- Last seen: 2026-12-06 20:01 (UTC+7)" in body
    assert "- UPS runtime left: 3 min 15 s" in body
    assert "- Mains power: no" in body


@pytest.mark.parametrize("language", ["vi", "en"])
@pytest.mark.parametrize(
    "title",
    [
        Text("Mất kết nối với bảng", "Board lost"),
        # an incident stored before titles were data names its board itself
        Text("Mất kết nối với bảng lc-mlt-01", "Board lc-mlt-01 lost"),
    ],
)
def test_a_subject_names_the_board_and_the_incident_once(title: Text, language: str) -> None:
    subject = render(replace(BOARD_LOST, title=title), language).subject  # type: ignore[arg-type]
    assert subject.count("lc-mlt-01") == 1
    assert "#28" not in subject
    assert subject.count(MLT_NAME.get(language)) == 1  # type: ignore[arg-type]


def test_a_board_notice_names_the_board_by_name_and_id() -> None:
    subject = render(BOARD_LOST, "vi").subject
    assert subject == (
        "[Nghiêm trọng] Sự cố mới: Mất kết nối với bảng — Bảng tin cổng A (lc-mlt-01),"
        " Cửa khẩu quốc tế Ma Lù Thàng"
    )


@pytest.mark.parametrize(
    ("language", "link_label"),
    [("vi", "Xem trên hệ thống"), ("en", "Open in the console")],
)
def test_the_link_to_the_console_page_with_the_base_url(
    language: Language, link_label: str
) -> None:
    message = render_group([outbox_row(SITE_DOWN, language)], "https://bangtin.example.vn/")
    line = f"{link_label}: https://bangtin.example.vn/incidents/27"
    assert line in message.body_text
    # before the footer, which stays last
    assert message.body_text.index(line) < message.body_text.index("\n--\n")


def test_no_link_without_the_base_url() -> None:
    message = render_group([outbox_row(SITE_DOWN)], None)
    assert "http" not in message.body_text
    assert "Xem trên hệ thống" not in message.body_text
    assert link_for(SITE_DOWN.to_payload(), None) is None


def test_a_digest_links_each_notice() -> None:
    rows = [outbox_row(SITE_DOWN, row_id=1), outbox_row(BOARD_LOST, row_id=2)]
    digest = render_group(rows, "https://bangtin.example.vn")
    assert "https://bangtin.example.vn/incidents/27" in digest.body_text
    assert "https://bangtin.example.vn/incidents/28" in digest.body_text
    assert digest.body_text.count("Vui lòng không trả lời") == 1


def test_a_notice_without_a_page_has_no_link() -> None:
    plain = replace(SITE_DOWN, link_path=None)
    assert link_for(plain.to_payload(), "https://bangtin.example.vn") is None


@pytest.mark.parametrize(
    ("key", "value", "vi", "en"),
    [
        ("runtime_s", 195, "3 phút 15 giây", "3 min 15 s"),
        ("runtime_s", 5400, "1 giờ 30 phút", "1 h 30 min"),
        ("runtime_s", 40, "40 giây", "40 s"),
        ("mains_present", True, "có", "yes"),
        ("rtt_ms", 1520.5, "1520,5 ms", "1520.5 ms"),
        ("priority", "urgent", "Khẩn", "Urgent"),
        ("last_seen_at", "not a time", "not a time", "not a time"),
        ("camera_id", None, "—", "—"),
    ],
)
def test_readings_read_as_people_read_them(key: str, value: object, vi: str, en: str) -> None:
    assert reading(key, value, "vi") == vi  # type: ignore[arg-type]
    assert reading(key, value, "en") == en  # type: ignore[arg-type]


def test_a_link_path_must_be_a_path() -> None:
    with pytest.raises(ValueError, match="link_path must be a path"):
        replace(SITE_DOWN, link_path="https://elsewhere.example/x")


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("bangtin.example.vn", "must start with http"),
        ("ftp://bangtin.example.vn", "must start with http"),
        ("https://", "has no host"),
        ("https://bang tin.example.vn", "not a URL"),
    ],
)
def test_a_bad_console_base_url_is_refused_by_name(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=f"FLEET_CONSOLE_BASE_URL: .*{problem}"):
        Settings(smtp=SmtpSettings(from_address="a@b.vn"), console_base_url=url)


def test_a_webhook_carries_the_link_and_its_text_too(
    db: Any,
    fleet: Any,
    webhook_receiver: Any,
    make_worker: Any,
    clock: Any,
) -> None:
    """The receiving system gets the console page as ``link`` beside
    ``link_path``, and the same text a person reads."""
    contact = add_contact(db, "Trực ban", webhook_url=webhook_receiver.url, webhook_secret="s" * 32)
    add_route(db, contact, channel="webhook")
    notice = replace(make_notice(fleet, START), link_path="/incidents/42")
    enqueue(db, notice, now=clock())
    assert make_worker(console_base_url="https://bangtin.example.vn").run_once().messages_sent == 1
    [request] = webhook_receiver.requests
    body = request.json()
    [item] = body["notices"]
    assert item["link"] == "https://bangtin.example.vn/incidents/42"
    assert item["link_path"] == "/incidents/42"
    assert "Xem trên hệ thống: https://bangtin.example.vn/incidents/42" in body["text"]


def test_every_telemetry_rule_says_its_cause_in_words() -> None:
    """A notice of any rule the engine raises says why in both languages."""
    for rule in DEFAULTS:
        said = cause(rule, {"camera_id": "gate", "same_count": 5})
        assert said.vi, rule
        assert said.en, rule
        assert "{" not in said.vi + said.en, rule
