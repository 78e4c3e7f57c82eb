"""What a phone walkthrough of the console found in its refusals: the
archive's days went unchecked to the API's JSON; an
unticked kill-switch box was refused "before rebooting the board" and its
box was not marked (nor the reboot's, whose section stayed closed); the
field at fault and the summary ran together ("Reason.Some of the input…");
an over-long or NUL new password was named "new password" on a Vietnamese
page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from fleet_server.localtime import local_day
from tests.server.api.console.conftest import csrf_of

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"


def box_of(html: str) -> str:
    return html.split('class="flash error refusal"')[1].split("</div>", maxsplit=1)[0]


def test_an_unticked_kill_switch_box_is_the_field_at_fault(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    operator = new_browser("operator")
    for lang, summary in (
        ("vi", "Hãy đánh dấu ô xác nhận trước khi gửi lệnh này."),
        ("en", "Tick the confirmation box before sending this order."),
    ):
        page = operator.get(f"/boards/{BOARD}", params={"lang": lang}).text
        refused = operator.post(
            f"/boards/{BOARD}/kill-switch",
            data={"csrf_token": csrf_of(page), "command": "stop_content", "reason": "Sai nội dung"},
        )
        assert refused.status_code == 400
        box = box_of(refused.text)
        assert 'data-error="confirm"' in box
        assert summary in box
        assert "khởi động lại" not in box
        assert "reboot" not in box
        form = refused.text.split('<details class="kill-stop_content" open>')[1].split("</form>")[0]
        assert 'name="confirm" value="true" required aria-invalid="true"' in form
        assert ">Sai nội dung</textarea>" in form  # the reason typed is kept
    assert db_conn.execute("SELECT count(*) FROM board_commands").fetchone() == (0,)


def test_an_unticked_reboot_box_opens_its_section_marked(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}").text
    assert '<details class="reboot">' in page
    refused = operator.post(
        f"/boards/{BOARD}/commands", data={"csrf_token": csrf_of(page), "command": "reboot"}
    )
    assert refused.status_code == 400
    assert '<span data-field="confirm">Mục cần sửa: Tôi xác nhận' in box_of(refused.text)
    form = refused.text.split('<details class="reboot" open>')[1].split("</form>")[0]
    assert 'required aria-invalid="true">' in form
    assert db_conn.execute("SELECT count(*) FROM board_commands").fetchone() == (0,)


def test_the_field_at_fault_and_the_summary_are_two_sentences(new_browser: NewBrowser) -> None:
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}", params={"lang": "en"}).text
    refused = operator.post(
        f"/boards/{BOARD}/kill-switch",
        data={"csrf_token": csrf_of(page), "command": "blank_screen", "confirm": "true"},
    )
    assert refused.status_code == 422
    box = box_of(refused.text)
    assert 'Field to correct: Reason.</span> <span class="summary">' in box


def test_a_refused_new_password_is_named_by_its_label(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    (user_id,) = db_conn.execute("SELECT id FROM users WHERE username = 'ky.thuat'").fetchone()
    admin = new_browser("admin")
    token = csrf_of(admin.get(f"/admin/users/{user_id}").text)
    for value in ("p" * 1001, "mat-khau-\x00-dai-hon"):
        refused = admin.post(
            f"/admin/users/{user_id}/password",
            data={"csrf_token": token, "new_password": value, "password_again": value},
        )
        assert refused.status_code == 400
        box = box_of(refused.text)
        assert "Mục cần sửa: Mật khẩu." in box
        assert "new password" not in box
        assert value not in refused.text  # a password is never shown again


def test_a_refused_archive_period_comes_back_on_the_reports_page(
    new_browser: NewBrowser, clock: Any
) -> None:
    """The archive's days were passed on unchecked: an end before the start,
    a future period, more than 366 days or no day at all left the reader
    on the API's JSON, in English. Now the form says why, in Vietnamese,
    the day at fault marked and the days typed kept."""
    today = local_day(clock())
    operator = new_browser("operator")
    cases = [
        (
            str(today),
            str(today - timedelta(days=3)),
            "from",
            "Ngày bắt đầu phải trước ngày kết thúc.",
        ),
        (
            str(today + timedelta(days=2)),
            str(today + timedelta(days=9)),
            "from",
            "Kỳ này chưa bắt đầu.",
        ),
        (str(today - timedelta(days=400)), str(today), "to", "Tối đa 366 ngày một lần."),
        ("", str(today), "from", "Hãy nhập một ngày (năm-tháng-ngày)."),
    ]
    for first, last, field, reason in cases:
        page = operator.get("/reports/archive", params={"from": first, "to": last})
        assert page.status_code == 400, (first, last)
        box = box_of(page.text)
        assert f'data-error="{field}"' in box
        assert reason in box
        form = page.text.split('id="archive"')[1].split("</form>", maxsplit=1)[0]
        assert f'name="from" value="{first}" required' in form
        assert f'name="to" value="{last}" required' in form
        assert f'name="{field}" value="{first if field == "from" else last}"' in form
        assert form.count('aria-invalid="true"') == 1
    fine = operator.get("/reports/archive", params={"from": str(today), "to": str(today)})
    assert fine.status_code == 303
    assert fine.headers["location"].startswith("/api/v1/archive?from=")
