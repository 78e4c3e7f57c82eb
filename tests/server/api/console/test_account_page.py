"""My account → Notices (``/account/notifications``): a person edits their
own channels, severities and quiet hours, with a confirmation after saving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.console.conftest import csrf_of

PAGE = "/account/notifications"
NewBrowser = Callable[..., TestClient]


def form(page: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "csrf_token": csrf_of(page),
        "channel": ["sms", "telegram", "", ""],
        "severity": ["critical", "major"],
        "quiet": "1",
        "quiet_start": "22:00",
        "quiet_end": "06:00",
        "phone": "0912 345 678",
        "telegram_chat_id": "123456789",
    }
    values.update(changes)
    return values


def test_every_person_reaches_the_page_from_their_name(new_browser: NewBrowser) -> None:
    for key in ("technician", "guard", "viewer"):
        browser = new_browser(key)
        home = browser.get("/cameras" if key == "guard" else "/", follow_redirects=True)
        assert 'href="/account/notifications"' in home.text
        page = browser.get(PAGE)
        assert page.status_code == 200
        assert "Tài khoản — Thông báo" in page.text


def test_a_technician_saves_and_is_told(new_browser: NewBrowser) -> None:
    browser = new_browser("technician")
    page = browser.get(PAGE).text
    assert "Đã lưu" not in page

    saved = browser.post(PAGE, data=form(page))
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{PAGE}?saved=1"
    after = browser.get(saved.headers["location"]).text
    assert "Đã lưu cài đặt thông báo." in after
    assert 'value="84912345678"' in after
    assert '<option value="sms" selected>' in after
    assert 'value="22:00"' in after
    api = browser.get("/api/v1/me/notification-preferences").json()
    assert api["channels"] == ["sms", "telegram"]
    assert api["severities"] == ["critical", "major"]
    assert api["quiet_hours"] == {"start": "22:00:00", "end": "06:00:00"}


def test_the_page_in_english(new_browser: NewBrowser) -> None:
    browser = new_browser("technician")
    page = browser.get(PAGE + "?lang=en").text
    saved = browser.post(PAGE, data=form(page))
    after = browser.get(saved.headers["location"]).text
    assert "My account — Notices" in after
    assert "Notice settings saved." in after


def test_critical_cannot_be_left_out(new_browser: NewBrowser) -> None:
    browser = new_browser("technician")
    page = browser.get(PAGE).text
    browser.post(PAGE, data=form(page, severity=["critical"]))
    api = browser.get("/api/v1/me/notification-preferences").json()
    assert api["severities"] == ["critical"]
    assert 'value="critical" checked disabled' in browser.get(PAGE).text


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"channel": ["", "", "", ""]}, "channels"),
        ({"channel": ["zalo", "", "", ""]}, "Kênh Zalo cần bạn đồng ý nhận tin Zalo ZNS."),
        ({"phone": "12"}, "phone"),
        ({"quiet_start": "late"}, "Hãy nhập giờ, ví dụ 22:00."),
        ({"quiet_end": "22:00"}, "Giờ bắt đầu và giờ kết thúc của giờ yên lặng phải khác nhau."),
        ({"channel": ["sms", "sms", "", ""]}, "Mỗi lựa chọn chỉ một lần."),
    ],
)
def test_bad_forms_are_refused_naming_the_problem(
    new_browser: NewBrowser, changes: dict[str, Any], problem: str
) -> None:
    browser = new_browser("technician")
    page = browser.get(PAGE).text
    answer = browser.post(PAGE, data=form(page, **changes))
    assert answer.status_code in (400, 422)
    assert problem in answer.text
    # the form again, with what was typed and the reason beside it
    assert 'id="prefs"' in answer.text
    assert 'role="alert"' in answer.text
    if "phone" in changes:
        assert f'value="{changes["phone"]}"' in answer.text
    assert browser.get("/api/v1/me/notification-preferences").json()["contact_id"] is None


def test_a_form_without_the_csrf_token_is_refused(new_browser: NewBrowser) -> None:
    browser = new_browser("technician")
    page = browser.get(PAGE).text
    answer = browser.post(PAGE, data=form(page, csrf_token="forged"))
    assert answer.status_code == 403


def test_nobody_signed_in_is_sent_to_the_login_form(new_browser: NewBrowser) -> None:
    answer = new_browser().get(PAGE)
    assert answer.status_code in (302, 303)
    assert answer.headers["location"].startswith("/login")
