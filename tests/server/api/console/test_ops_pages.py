"""The operational pages of the console (issue 17, console parity): opening
a ticket from an incident, a site or the queue; maintenance windows; the
preventive schedules; the rule thresholds. Each form per role, allowed and
refused, with the confirmation after it (``web.redirect(..., flash=)``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from fleet_server.localtime import LOCAL_TZ
from tests.server.api.conftest import open_test_incident
from tests.server.api.console.conftest import csrf_of
from tests.support import seed
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"
FORBIDDEN = i18n.STRINGS["error.403"]


def post(browser: TestClient, page: str, action: str, form: dict[str, str]) -> Any:
    """Open ``page`` (for its CSRF token) and send ``form`` to ``action``."""
    token = csrf_of(browser.get(page).text)
    return browser.post(action, data={**form, "csrf_token": token}, follow_redirects=False)


def flash_after(browser: TestClient, answer: Any) -> str:
    """Follow the redirect after a form; the page it lands on."""
    assert answer.status_code == 303, answer.text
    return browser.get(answer.headers["location"]).text


def picked(page: str) -> str | None:
    """The place the "where" picker holds (its token), or None."""
    found = re.search(r'<input type="text" name="where"[^>]*value="([^"]*)"', page)
    if found is None:
        return None
    token = re.search(r"(site|board):[A-Za-z0-9_-]+", found.group(1))
    return token.group(0) if token else found.group(1)


def one_row(api_db: str, sql: str) -> tuple[Any, ...]:
    with psycopg.connect(api_db) as conn:
        found = conn.execute(sql).fetchone()
    assert found is not None, sql
    return found


def local(clock: Clock, hours: float) -> str:
    return (clock.now + timedelta(hours=hours)).astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


def test_a_ticket_from_an_incident_is_linked_and_confirmed(
    new_browser: NewBrowser, api_db: str
) -> None:
    with psycopg.connect(api_db, autocommit=True) as conn:
        incident = open_test_incident(conn, BOARD, "board_lost", severity="critical")
    operator = new_browser("operator")
    page = operator.get(f"/incidents/{incident}")
    assert f'href="/tickets/new?incident_id={incident}"' in page.text
    form = operator.get("/tickets/new", params={"incident_id": incident})
    assert form.status_code == 200
    assert picked(form.text) == f"board:{BOARD}"
    assert 'value="urgent" selected' in form.text  # a critical incident's ticket is urgent
    answer = post(
        operator,
        f"/tickets/new?incident_id={incident}",
        "/tickets/new",
        {
            "where": f"board:{BOARD}",
            "title": "Thay bộ nguồn",
            "kind": "corrective",
            "priority": "urgent",
            "description": "Mang bộ nguồn dự phòng",
            "incident_ids": str(incident),
            "assignee": "ky.thuat",
        },
    )
    ticket = flash_after(operator, answer)
    assert "Đã tạo phiếu bảo trì và giao việc." in ticket
    assert "Thay bộ nguồn" in ticket
    with psycopg.connect(api_db) as conn:
        row = conn.execute(
            "SELECT t.assignee, t.priority, ti.incident_id FROM tickets t"
            " JOIN ticket_incidents ti ON ti.ticket_id = t.id WHERE t.title = 'Thay bộ nguồn'"
        ).fetchone()
    assert row == ("ky.thuat", "urgent", incident)


def test_a_ticket_from_a_site_and_from_the_queue(new_browser: NewBrowser, api_db: str) -> None:
    with psycopg.connect(api_db) as conn:
        site = seed.site_of_board(conn, BOARD)
    admin = new_browser("admin")
    assert f'href="/tickets/new?site_id={site}"' in admin.get(f"/sites/{site}").text
    assert 'href="/tickets/new"' in admin.get("/tickets").text
    board_page = admin.get(f"/boards/{BOARD}").text
    assert f'href="/tickets/new?board_id={BOARD}"' in board_page
    assert f'href="/maintenance?board_id={BOARD}"' in board_page
    form = admin.get("/tickets/new", params={"site_id": site, "lang": "en"}).text
    assert "New ticket" in form
    assert picked(form) == f"site:{site}"
    answer = post(
        admin,
        "/tickets/new",
        "/tickets/new",
        {"where": f"site:{site}", "title": "Kiểm tra tủ điện", "priority": "low"},
    )
    assert "Ticket created." in flash_after(admin, answer)


def test_ticket_form_refusals(new_browser: NewBrowser, api_db: str) -> None:
    with psycopg.connect(api_db) as conn:
        other = seed.sites_of_kind(conn, "district_centre")[0]
    operator = new_browser("operator")
    blank = post(
        operator, "/tickets/new", "/tickets/new", {"where": f"board:{BOARD}", "title": " "}
    )
    assert blank.status_code == 400
    assert "title" in blank.text
    nowhere = post(operator, "/tickets/new", "/tickets/new", {"where": "", "title": "x"})
    assert nowhere.status_code == 400
    outside = post(
        operator, "/tickets/new", "/tickets/new", {"where": f"site:{other}", "title": "x"}
    )
    assert outside.status_code == 404  # another organisation's site
    bad_link = post(
        operator,
        "/tickets/new",
        "/tickets/new",
        {"where": f"board:{BOARD}", "title": "x", "incident_ids": "abc"},
    )
    assert bad_link.status_code == 400
    assert "incident_ids" in bad_link.text
    nobody = post(
        operator,
        "/tickets/new",
        "/tickets/new",
        {"where": f"board:{BOARD}", "title": "x", "assignee": "khong.co"},
    )
    assert nobody.status_code == 400
    with psycopg.connect(api_db) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (0,)  # nothing half-made
    technician = new_browser("technician")
    assert technician.get("/tickets/new").status_code == 403
    assert 'href="/tickets/new"' not in technician.get("/tickets").text
    refused = post(
        technician, "/tickets", "/tickets/new", {"where": f"board:{BOARD}", "title": "x"}
    )
    assert refused.status_code == 403
    assert any(text in refused.text for text in FORBIDDEN)


def test_maintenance_windows_planned_ended_and_cancelled(
    new_browser: NewBrowser, api_db: str, clock: Clock
) -> None:
    operator = new_browser("operator")
    page = operator.get("/maintenance")
    assert page.status_code == 200
    assert 'href="/maintenance"' in page.text  # in the menu
    answer = post(
        operator,
        "/maintenance",
        "/maintenance",
        {
            "where": f"board:{BOARD}",
            "starts_at": local(clock, -1),
            "ends_at": local(clock, 2),
            "recurrence": "none",
            "reason": "Thay bộ nguồn",
        },
    )
    listed = flash_after(operator, answer)
    assert "Đã lập lịch bảo trì." in listed
    window_id, starts = one_row(
        api_db, "SELECT id, starts_at FROM maintenance_windows WHERE reason = 'Thay bộ nguồn'"
    )
    assert starts == (clock.now - timedelta(hours=1)).replace(second=0, microsecond=0)
    assert 'data-status="active"' in listed
    ended = post(operator, "/maintenance", f"/maintenance/{window_id}/end", {})
    assert "Đã kết thúc bảo trì" in flash_after(operator, ended)
    unconfirmed = post(operator, "/maintenance", f"/maintenance/{window_id}/delete", {})
    assert unconfirmed.status_code == 400
    cancelled = post(
        operator, "/maintenance", f"/maintenance/{window_id}/delete", {"confirm": "on"}
    )
    assert "Đã huỷ lịch bảo trì." in flash_after(operator, cancelled)


def test_maintenance_form_refusals_and_roles(new_browser: NewBrowser, clock: Clock) -> None:
    operator = new_browser("operator")
    form = {
        "where": f"board:{BOARD}",
        "starts_at": local(clock, 2),
        "ends_at": local(clock, 1),
        "reason": "x",
    }
    backwards = post(operator, "/maintenance", "/maintenance", form)
    assert backwards.status_code == 400
    assert "Thời điểm kết thúc phải sau thời điểm bắt đầu." in refusal_of(backwards.text)
    assert 'name="ends_at" required aria-invalid="true"' in backwards.text
    no_time = post(operator, "/maintenance", "/maintenance", {**form, "starts_at": "mai"})
    assert no_time.status_code == 400
    assert "starts_at" in no_time.text
    technician = new_browser("technician")
    page = technician.get("/maintenance", params={"lang": "en"})
    assert page.status_code == 200
    assert 'action="/maintenance"' not in page.text
    refused = post(technician, "/maintenance", "/maintenance", form)
    assert refused.status_code == 403
    assert new_browser("guard").get("/maintenance").status_code == 403


def test_preventive_schedules_from_the_console(
    new_browser: NewBrowser, api_db: str, clock: Clock
) -> None:
    operator = new_browser("operator")
    due = (clock.now.astimezone(LOCAL_TZ).date() + timedelta(days=10)).isoformat()
    form = {
        "where": f"board:{BOARD}",
        "title": "Vệ sinh màn hình",
        "checklist": "Lau kính",
        "priority": "normal",
        "every_days": "90",
        "next_due_on": due,
    }
    created = post(operator, "/maintenance/preventive", "/maintenance/preventive", form)
    assert "Đã lập lịch bảo dưỡng định kỳ." in flash_after(operator, created)
    (schedule,) = one_row(api_db, "SELECT id FROM preventive_schedules")
    saved = post(
        operator,
        "/maintenance/preventive",
        f"/maintenance/preventive/{schedule}",
        {**form, "every_days": "30"},
    )
    page = flash_after(operator, saved)
    assert "Đã lưu lịch bảo dưỡng định kỳ." in page
    assert "Mỗi 30 ngày" in page
    bad = post(
        operator,
        "/maintenance/preventive",
        f"/maintenance/preventive/{schedule}",
        {**form, "every_days": "ba mươi"},
    )
    assert bad.status_code == 400
    refusal = refusal_of(bad.text)
    assert i18n.translator("vi")("preventive.every_days") in refusal
    assert "Hãy nhập một số nguyên." in refusal
    edit = bad.text.split(f'action="/maintenance/preventive/{schedule}#')[1].split("</form>")[0]
    assert 'aria-invalid="true" value="ba mươi"' in edit  # what was typed, marked
    assert '<details class="edit" open>' in bad.text
    stopped = post(
        operator,
        "/maintenance/preventive",
        f"/maintenance/preventive/{schedule}/delete",
        {"confirm": "on"},
    )
    assert "Đã dừng lịch bảo dưỡng định kỳ" in flash_after(operator, stopped)
    viewer = new_browser("viewer")
    assert viewer.get("/maintenance/preventive").status_code == 200
    assert (
        post(viewer, "/maintenance/preventive", "/maintenance/preventive", form).status_code == 403
    )


def test_rule_thresholds_in_words_set_and_cleared_by_an_admin(
    new_browser: NewBrowser, api_db: str
) -> None:
    admin = new_browser("admin")
    page = admin.get("/rules")
    assert page.status_code == 200
    assert "Pin UPS yếu" in page.text
    assert "Mở khi pin dưới" in page.text
    assert "30 %" in page.text
    answer = post(
        admin,
        "/rules",
        "/rules",
        {"rule": "battery_low", "target": f"board:{BOARD}", "p_open_below": "25", "p_for_s": "120"},
    )
    shown = flash_after(admin, answer)
    assert "Đã lưu ngưỡng riêng" in shown
    assert "2 phút" in shown
    english = admin.get("/rules", params={"lang": "en"}).text
    assert "Opens when the battery is below" in english
    assert "25 %" in english
    wrong = post(
        admin,
        "/rules",
        "/rules",
        {"rule": "battery_low", "target": f"board:{BOARD}", "p_open_below": "45"},
    )
    assert wrong.status_code == 400
    assert "wrong side" in wrong.text
    not_a_number = post(
        admin,
        "/rules",
        "/rules",
        {"rule": "battery_low", "target": f"board:{BOARD}", "p_for_s": "lâu"},
    )
    assert not_a_number.status_code == 400
    refusal = refusal_of(not_a_number.text)
    assert i18n.translator("en")("threshold.for_s") in refusal  # the field, in words (English
    assert i18n.translator("en")("refusal.not_number") in refusal  # since ?lang=en above)
    assert "params.for_s:" not in refusal  # no raw field code
    rule_form = not_a_number.text.split('action="/rules#rule-battery_low"')[1].split("</form>")[0]
    assert 'name="p_for_s" aria-invalid="true" value="lâu"' in rule_form
    assert re.search(rf'name="place"[^>]*value="board:{BOARD}"', rule_form)  # the picker keeps it
    no_target = post(admin, "/rules", "/rules", {"rule": "battery_low", "p_for_s": "5"})
    assert no_target.status_code == 400
    (override,) = one_row(api_db, "SELECT id FROM rule_overrides")
    cleared = post(admin, "/rules", f"/rules/overrides/{override}/clear", {})
    assert "Override cleared; the level above applies again." in flash_after(admin, cleared)
    operator = new_browser("operator")
    assert operator.get("/rules").status_code == 403
    assert 'href="/rules"' not in operator.get("/tickets").text
    refused = post(
        operator, "/tickets", "/rules", {"rule": "battery_low", "target": f"board:{BOARD}"}
    )
    assert refused.status_code == 403


def test_a_flash_is_shown_once_and_only_when_known(new_browser: NewBrowser) -> None:
    admin = new_browser("admin")
    shown = admin.get("/tickets", params={"flash": "ticket_created"}).text
    assert 'data-flash="ticket_created"' in shown
    assert "?flash=" not in shown  # not carried into the page's links
    assert "&flash=" not in shown
    assert "data-flash" not in admin.get("/tickets", params={"flash": "<script>"}).text


def test_no_raw_code_or_utc_time_on_the_operational_pages(
    new_browser: NewBrowser, api_db: str, clock: Clock
) -> None:
    from tests.server.api.console.test_console_words import problems  # noqa: PLC0415

    with psycopg.connect(api_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO maintenance_windows (board_id, starts_at, ends_at, reason, created_by)"
            " VALUES (%s, %s, %s, 'Thay nguồn', 'van.hanh')",
            (BOARD, clock.now - timedelta(hours=1), clock.now + timedelta(hours=1)),
        )
        conn.execute(
            "INSERT INTO preventive_schedules (board_id, every_days, next_due_on, title)"
            " VALUES (%s, 30, %s, 'Lau màn hình')",
            (BOARD, clock.now.date() + timedelta(days=3)),
        )
        conn.execute(
            "INSERT INTO rule_overrides (rule, board_id, params) VALUES"
            ' (\'overheating\', %s, \'{"open_above": 80, "severity": "minor"}\')',
            (BOARD,),
        )
    admin = new_browser("admin")
    for lang in ("vi", "en"):
        for url in ("/rules", "/maintenance", "/maintenance/preventive", "/tickets/new"):
            page = admin.get(url, params={"lang": lang})
            assert page.status_code == 200, url
            assert not problems(page.text), (lang, url, problems(page.text))


def refusal_of(page: str) -> str:
    """The refusal's box on a page (the reason and the field named)."""
    return page.split('class="flash error refusal"')[1].split("</div>", maxsplit=1)[0]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_refused_ticket_comes_back_with_what_was_typed(
    new_browser: NewBrowser, api_db: str, lang: str
) -> None:
    operator = new_browser("operator")
    long_text = "Cột điện nghiêng, dây cấp nguồn <bị> đứt; " * 30
    answer = post(
        operator,
        f"/tickets/new?lang={lang}",
        "/tickets/new",
        {
            "where": f"board:{BOARD}",
            "title": "Thay dây nguồn",
            "kind": "inspection",
            "priority": "high",
            "description": long_text,
            "incident_ids": "12 abc",
        },
    )
    assert answer.status_code == 400
    refusal = refusal_of(answer.text)
    field = "Sự cố liên quan" if lang == "vi" else "Related incidents"
    assert field in refusal, refusal
    assert i18n.translator(lang)("refusal.incident_ids") in refusal
    assert "incident_ids:" not in refusal
    page = answer.text
    assert 'autocomplete="off" aria-invalid="true" value="12 abc"' in page
    assert 'value="Thay dây nguồn"' in page
    assert "Cột điện nghiêng, dây cấp nguồn &lt;bị&gt; đứt;" in page
    assert 'value="inspection" selected' in page
    assert 'value="high" selected' in page
    assert picked(page) == f"board:{BOARD}"
    nul = post(
        operator,
        "/tickets/new",
        "/tickets/new",
        {"where": f"board:{BOARD}", "title": "Thay\x00 dây"},
    )
    assert nul.status_code == 400
    assert 'name="title" required maxlength="200" aria-invalid="true"' in nul.text
    with psycopg.connect(api_db) as conn:
        assert conn.execute("SELECT count(*) FROM tickets").fetchone() == (0,)


@pytest.mark.parametrize(
    ("lang", "field", "reason"),
    [
        ("vi", "Mục cần sửa: Bắt đầu", "Hãy nhập ngày và giờ (giờ Việt Nam)."),
        ("en", "Field to correct: Starts", "Give a date and time (Vietnam time)."),
    ],
)
def test_a_refused_maintenance_window_comes_back_with_what_was_typed(
    new_browser: NewBrowser, clock: Clock, lang: str, field: str, reason: str
) -> None:
    operator = new_browser("operator")
    reason_typed = "Thay tấm LED hỏng ở góc trái, cần cắt điện cả cụm " * 8
    form = {
        "where": f"board:{BOARD}",
        "starts_at": "mai",
        "ends_at": local(clock, 3),
        "recurrence": "weekly",
        "reason": reason_typed,
    }
    answer = post(operator, f"/maintenance?lang={lang}", "/maintenance", form)
    assert answer.status_code == 400
    refusal = refusal_of(answer.text)
    assert field in refusal, refusal
    assert reason in refusal
    page = answer.text
    assert 'name="starts_at" required aria-invalid="true" value="mai"' in page
    assert f'value="{local(clock, 3)}"' in page
    assert reason_typed.strip() in page
    assert 'value="weekly" selected' in page
    assert picked(page) == f"board:{BOARD}"
