"""The domain's values in words (console/wording.py, i18n.py): money the
Vietnamese way, reasons and notes the server writes, audit actions from
their parts, actors, teams, details with their units, and a code without a
label made readable rather than shown raw."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from fleet_server.api.console import forms, i18n, wording
from fleet_server.incidents import titles
from fleet_server.vocabulary import LANGUAGES


def test_money_and_numbers_follow_the_language() -> None:
    assert i18n.format_money(150_000, "vi") == "150.000\u00a0₫"
    assert i18n.format_money(150_000, "en") == "150,000\u00a0₫"
    assert i18n.format_money(None, "vi") == "—"
    assert i18n.format_number(1234.5, "vi", 1) == "1.234,5"


def test_times_from_json_text_are_vietnam_time_and_a_bad_one_is_shown_as_is() -> None:
    assert i18n.format_time("2026-12-01T17:05:00Z", "vi") == "00:05 02/12/2026"
    assert i18n.format_time("2026-12-01T17:05:00+00:00", "en") == "2026-12-02 00:05"
    assert i18n.format_time("not a time", "vi") == "not a time"
    assert i18n.format_day("2026-12-01", "vi") == "01/12/2026"
    assert i18n.format_day("2026-12-01", "en") == "2026-12-01"
    assert i18n.format_day("yesterday", "en") == "yesterday"


def test_how_long_ago() -> None:
    now = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert i18n.format_ago(now - timedelta(minutes=5), "vi", now) == i18n.translator("vi")(
        "time.ago_m", n=5
    )
    assert "5" in i18n.format_ago(now - timedelta(minutes=5), "en", now)
    assert i18n.format_ago(None, "vi", now) == i18n.translator("vi")("time.never")


@pytest.mark.parametrize(
    ("text", "vi", "en"),
    [
        ("birth: agent connected", "Phần mềm trên bảng đã kết nối", "The board's agent connected"),
        (
            "no heartbeat for 95 s (interval 30 s)",
            "Không có nhịp tim trong 95 giây (chu kỳ 30 giây)",
            "No heartbeat for 95 s (every 30 s expected)",
        ),
        ("said the agent", "said the agent", "said the agent"),  # an agent's own words
    ],
)
def test_board_state_reasons(text: str, vi: str, en: str) -> None:
    assert wording.reason(text, "vi") == vi
    assert wording.reason(text, "en") == en


def test_the_servers_notes_are_translated_a_persons_are_not() -> None:
    assert wording.note("power: 150000 VND", "vi") == "Điện: 150.000\u00a0₫"
    assert wording.note("power: 150000.00 VND", "en") == "Power: 150,000\u00a0₫"
    assert wording.note("part of site incident 12", "vi") == "Thuộc sự cố toàn điểm #12"
    assert wording.note(
        "late data for lc-a-01 on 2026-12-01: the day is now compliant", "vi"
    ).startswith("Dữ liệu đến muộn của bảng lc-a-01 ngày 01/12/2026")
    assert wording.note("Đã thay cầu chì", "en") == "Đã thay cầu chì"
    assert wording.note(None, "vi") == ""


def test_audit_actions_from_their_label_or_their_parts() -> None:
    assert wording.audit_action("login_failed", "vi") == "Đăng nhập sai"
    assert wording.audit_action("user.create", "vi") == "Tài khoản: tạo mới"
    assert wording.audit_action("content.submission.start_appraisal", "en") == (
        "Content submission: appraisal started"
    )
    # an action added later, with parts nobody labelled yet: readable, not raw
    assert wording.audit_action("brand_new.do_thing", "en") == "brand new: do thing"
    assert wording.audit_action("lonely_word", "en") == "lonely word"


def test_actors_and_teams() -> None:
    assert wording.actor("engine", "vi") == "Hệ thống giám sát"
    assert wording.actor("engine:broadcast_noncompliant", "en") == (
        "Monitoring engine (Broadcast time not met)"
    )
    assert wording.actor("system:simulator", "vi") == "Trình mô phỏng"
    assert wording.actor("ky.thuat", "vi") == "ky.thuat"
    assert wording.actor(None, "en") == "—"
    assert wording.team("to-ky-thuat-bien-gioi", "vi") == "Tổ kỹ thuật biên giới"
    assert wording.team("to-moi", "vi") == "to moi"


def test_details_are_labelled_with_units_and_local_times() -> None:
    rows = dict(
        wording.details(
            {
                "battery_percent": 22.5,
                "since": "2026-12-01T03:00:00+00:00",
                "state": "lost",
                "cause": "power",
                "boards": ["lc-a-01", "lc-a-02"],
                "mains_present": False,
                "windows": {"morning": ["06:00", "08:00"]},
                "an_unknown_field": "some_code",
            },
            "vi",
        )
    )
    assert rows["Pin UPS"] == "22,5\u00a0%"
    assert rows["Từ lúc"] == "10:00 01/12/2026"
    assert rows["Trạng thái"] == "Mất liên lạc"
    assert rows["Nguyên nhân"] == "Mất điện lưới"
    assert rows["Các bảng"] == "lc-a-01, lc-a-02"
    assert rows["Có điện lưới"] == "Không"
    assert rows["Khung giờ phát"].endswith("06:00 – 08:00")
    assert rows["an unknown field"] == "some code"


def test_audit_changes_row_by_row() -> None:
    rows = wording.changes({"state": "open", "same": 1}, {"state": "acknowledged", "same": 1}, "en")
    assert rows == [("State", "open", "acknowledged")]
    assert wording.changes(None, None, "vi") == []
    assert wording.changes("draft", "approved", "en") == [("", "draft", "approved")]


def test_a_rule_title_reads_in_one_language_an_old_one_is_split() -> None:
    spec = titles.titled("mains_lost", board="lc-a-01")
    assert spec["title"] == (
        "Mất điện lưới, bảng chạy bằng UPS — lc-a-01 / Mains lost, running on UPS — lc-a-01"
    )
    assert titles.of(spec["title"], "mains_lost", {"board": "lc-a-01"}, "en") == (
        "Mains lost, running on UPS — lc-a-01"
    )
    assert titles.of("Mất kết nối với bảng x / Board x lost", None, None, "en") == "Board x lost"
    assert titles.of("A / B", None, None, "en", bilingual=False) == "A / B"
    assert titles.both(spec["title"], "mains_lost", {"board": "b"}) == (
        "Mất điện lưới, bảng chạy bằng UPS",
        "Mains lost, running on UPS",
    )
    day = titles.titled("broadcast_noncompliant", board="b", day="2026-12-01")
    assert "ngày 01/12/2026" in day["title"]
    assert "on 2026-12-01" in day["title"]
    ads = titles.render(
        "advertising_share_exceeded", {"day": "2026-12-01", "share": 31.4, "ceiling": 30}, "vi"
    )
    assert "(31,4 % > 30 %)" in ads
    assert titles.what("broadcast_noncompliant", {}, "en") == "Broadcast time not met on …"


def test_an_unknown_title_key_is_refused_when_made_and_shown_as_written_when_read() -> None:
    with pytest.raises(KeyError):
        titles.titled("no_such_rule", board="b")
    assert titles.of("as written", "gone_key", {}, "en") == "as written"


def test_every_rule_has_a_label_and_a_title_in_both_languages() -> None:
    for rule in titles.RULES:
        assert i18n.translator("vi")(f"rule.{rule}")
        assert i18n.translator("en")(f"rule.{rule}")
    for key, (vi, en) in titles.WHAT.items():
        assert set(re.findall(r"\{(\w+)\}", vi)) == set(re.findall(r"\{(\w+)\}", en)), key


def test_ticket_titles_made_by_the_engine_read_in_one_language() -> None:
    text = "Toàn điểm mất liên lạc / Whole site down — lc-a-01"
    assert wording.ticket_title(text, "vi") == "Toàn điểm mất liên lạc — lc-a-01"
    assert wording.ticket_title(text, "en") == "Whole site down — lc-a-01"
    assert wording.ticket_title("Thay UPS / vệ sinh", "en") == "Thay UPS / vệ sinh"
    site = "Toàn điểm mất liên lạc / Whole site down — site 3"
    assert wording.ticket_title(site, "vi") == "Toàn điểm mất liên lạc — điểm 3"
    assert wording.ticket_title(site, "en") == "Whole site down — site 3"


@pytest.mark.parametrize(
    ("detail", "field", "text", "worded"),
    [
        ("amount_vnd: whole đồng, digits only (e.g. 120000000)", "amount_vnd",
         "whole đồng, digits only (e.g. 120000000)", ("refusal.amount_vnd", {})),
        ("description: String should match pattern '^[^\\x00]*$'", "description",
         "String should match pattern '^[^\\x00]*$'", ("refusal.pattern", {})),
        ("title: String should have at most 200 characters", "title",
         "String should have at most 200 characters", ("refusal.too_long", {"n": "200"})),
        ("incident_kinds.0: Field required", "incident_kinds.0",
         "Field required", ("refusal.required", {})),
        ("board already exists", None, "board already exists", None),
    ],
)  # fmt: skip
def test_a_refusal_reason_loses_its_field_code_and_is_worded_when_common(
    detail: str, field: str | None, text: str, worded: tuple[str, dict[str, str]] | None
) -> None:
    assert forms.reason(detail, field) == (text, worded)
    if worded:
        for lang in LANGUAGES:
            assert i18n.translator(lang)(worded[0], **worded[1])


def test_a_refused_field_is_named_by_the_forms_label_else_a_common_one() -> None:
    assert forms.label_key("note", {"note": "incident.resolve_note"}) == "incident.resolve_note"
    assert forms.label_key("params.for_s", {"params.for_s": "threshold.for_s"}) == (
        "threshold.for_s"
    )
    assert forms.label_key("email") == "admin.field.email"
    assert forms.label_key("amount_vnd") == "field.amount_vnd"
    assert forms.label_key("form") is None
    assert forms.label_key("no_such_field") is None
