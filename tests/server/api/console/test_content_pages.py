"""The console's approved content page and the broadcast windows on the site
and board pages: who sees them, the forms with their CSRF token, and the
audit rows the forms leave."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.access.principal import Actor
from fleet_server.content import service
from fleet_server.content.models import NewContent
from tests.server.api.conftest import audit_actions
from tests.server.api.console.conftest import csrf_of
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"


def site_of(conn: Any, board_id: str) -> int:
    row = conn.execute("SELECT site_id FROM boards WHERE id = %s", (board_id,)).fetchone()
    assert row is not None
    return int(row[0])


def approve(conn: Any, clock: Clock, title: str, sha: str, **kw: Any) -> None:
    item = NewContent(
        title=title,
        kind=kw.pop("kind", "propaganda"),
        language=kw.pop("language", "hmn"),
        sha256=sha,
        valid_from=kw.pop("valid_from", clock() - timedelta(days=1)),
        **kw,
    )
    service.approve(conn, item, Actor("quan.tri"), clock())


@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_the_content_page(new_browser: NewBrowser, db_conn: Any, clock: Clock, role: str) -> None:
    approve(db_conn, clock, "Phòng chống cháy rừng", "a1" * 32, from_department=True)
    approve(
        db_conn,
        clock,
        "Quảng cáo du lịch đã hết hạn",
        "b2" * 32,
        kind="advertising",
        language="vi-zh",
        valid_from=clock() - timedelta(days=30),
        valid_to=clock() - timedelta(days=2),
    )
    browser = new_browser(role)
    page = browser.get("/content")
    assert page.status_code == 200
    assert "Nội dung đã duyệt" in page.text
    assert 'href="/content"' in page.text  # in the menu
    assert "Phòng chống cháy rừng" in page.text
    assert "Tiếng Mông" in page.text
    assert "a1" * 32 in page.text
    assert "Quảng cáo du lịch đã hết hạn" not in page.text  # valid now only, by default
    everything = browser.get("/content?show=all&kind=advertising&lang=en")
    assert "Approved content" in everything.text
    assert "Quảng cáo du lịch đã hết hạn" in everything.text
    assert "Expired" in everything.text
    assert "Vietnamese–Chinese" in everything.text
    assert "Phòng chống cháy rừng" not in everything.text
    assert "No content." in browser.get("/content?q=nothing-like-this").text


@pytest.mark.parametrize("role", ["technician", "guard"])
def test_the_content_page_is_not_for_everyone(new_browser: NewBrowser, role: str) -> None:
    browser = new_browser(role)
    assert browser.get("/content").status_code == 403
    home = browser.get("/cameras" if role == "guard" else "/tickets")
    assert 'href="/content"' not in home.text


def test_windows_on_the_site_and_board_pages_read_only(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    viewer = new_browser("viewer")
    site = viewer.get(f"/sites/{site_of(db_conn, BOARD)}")
    assert site.status_code == 200
    assert "Khung giờ phát" in site.text
    assert "06:30" in site.text
    assert "19:30" in site.text
    assert "broadcast-windows" not in site.text  # no form
    board = viewer.get(f"/boards/{BOARD}?lang=en")
    assert "Broadcast windows" in board.text
    assert "The site&#39;s windows" in board.text
    assert "broadcast-windows" not in board.text


def test_operator_sets_the_site_windows_with_the_form(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    site_id = site_of(db_conn, BOARD)
    operator = new_browser("operator")
    page = operator.get(f"/sites/{site_id}")
    assert f'action="/sites/{site_id}/broadcast-windows"' in page.text
    assert 'value="06:30"' in page.text  # the form starts from the current windows
    form = {
        "csrf_token": csrf_of(page.text),
        "morning_starts_at": "06:00",
        "morning_ends_at": "09:15",
        "afternoon_starts_at": "14:00",
        "afternoon_ends_at": "16:00",
    }
    answer = operator.post(f"/sites/{site_id}/broadcast-windows", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/sites/{site_id}#windows"
    rows = db_conn.execute(
        "SELECT part, starts_at::text, ends_at::text FROM broadcast_windows WHERE site_id = %s"
        " ORDER BY starts_at",
        (site_id,),
    ).fetchall()
    assert rows == [("morning", "06:00:00", "09:15:00"), ("afternoon", "14:00:00", "16:00:00")]
    assert audit_actions(db_conn)[-1] == ("van.hanh", "broadcast_windows.set")
    shown = operator.get(f"/sites/{site_id}")
    assert "Khung giờ buổi chiều chỉ có 2.0 giờ" in shown.text
    # an end before its start: refused, nothing changed
    bad = operator.post(
        f"/sites/{site_id}/broadcast-windows",
        data={**form, "morning_ends_at": "05:00"},
    )
    assert bad.status_code == 422
    assert "Thời điểm kết thúc phải sau thời điểm bắt đầu." in bad.text
    # on the site's page, the form open with the times typed and the one at fault marked
    assert '<details class="windows-form" open>' in bad.text
    assert 'name="morning_ends_at" aria-invalid="true" value="05:00"' in bad.text
    assert 'name="afternoon_starts_at" value="14:00"' in bad.text
    box = bad.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert "Mục cần sửa: sáng." in box
    half = operator.post(
        f"/sites/{site_id}/broadcast-windows", data={**form, "afternoon_ends_at": ""}
    )
    assert half.status_code == 400
    assert "Mỗi buổi cần cả giờ bắt đầu và giờ kết thúc" in half.text
    assert 'name="afternoon_ends_at" aria-invalid="true" value=""' in half.text
    no_token = operator.post(
        f"/sites/{site_id}/broadcast-windows",
        data={k: v for k, v in form.items() if k != "csrf_token"},
    )
    assert no_token.status_code == 403
    assert (
        len(
            db_conn.execute(
                "SELECT 1 FROM broadcast_windows WHERE site_id = %s", (site_id,)
            ).fetchall()
        )
        == 2
    )


def test_board_override_and_reset_with_the_form(new_browser: NewBrowser, db_conn: Any) -> None:
    operator = new_browser("operator")
    page = operator.get(f"/boards/{BOARD}")
    token = csrf_of(page.text)
    own = {
        "csrf_token": token,
        "morning_starts_at": "05:30",
        "morning_ends_at": "08:30",
        "afternoon_starts_at": "15:00",
        "afternoon_ends_at": "18:00",
    }
    assert operator.post(f"/boards/{BOARD}/broadcast-windows", data=own).status_code == 303
    page = operator.get(f"/boards/{BOARD}")
    assert "Khung giờ riêng của bảng tin này" in page.text
    assert 'name="reset"' in page.text
    reset = operator.post(
        f"/boards/{BOARD}/broadcast-windows", data={"csrf_token": token, "reset": "site"}
    )
    assert reset.status_code == 303
    assert "Theo khung giờ của điểm" in operator.get(f"/boards/{BOARD}").text
    assert [a for _, a in audit_actions(db_conn)][-2:] == [
        "broadcast_windows.set",
        "broadcast_windows.delete",
    ]
    # another organisation's operator and a viewer may not
    district = new_browser("district")
    other_token = csrf_of(district.get("/").text)
    assert (
        district.post(
            f"/boards/{BOARD}/broadcast-windows", data={**own, "csrf_token": other_token}
        ).status_code
        == 404
    )
    viewer = new_browser("viewer")
    viewer_token = csrf_of(viewer.get("/").text)
    assert (
        viewer.post(
            f"/boards/{BOARD}/broadcast-windows", data={**own, "csrf_token": viewer_token}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("lang", "field", "reason"),
    [
        ("vi", "Mục cần sửa: Mô tả.", "Có ký tự NUL"),
        ("en", "Field to correct: Description.", "Contains a NUL character"),
    ],
)
def test_a_refused_submission_comes_back_with_what_was_typed(
    new_browser: NewBrowser, db_conn: Any, lang: str, field: str, reason: str
) -> None:
    """A stray NUL in the description (a paste from a document) names the
    description, keeps the title and the text, and stores nothing."""
    operator = new_browser("operator")
    page = operator.get("/content/submissions", params={"lang": lang}).text
    description = "Phóng sự về lễ hội Gầu Tào <2026> của đồng bào Mông \x00 huyện Phong Thổ"
    answer = operator.post(
        "/content/submissions",
        data={
            "csrf_token": csrf_of(page),
            "title": "Lễ hội Gầu Tào",
            "category": "local:projects",
            "language": "hmn",
            "sha256": "a" * 64,
            "description": description,
        },
    )
    assert answer.status_code == 400
    box = answer.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert field in box
    assert reason in box
    assert "String should match pattern" not in box
    assert "description:" not in box
    assert 'value="Lễ hội Gầu Tào"' in answer.text
    assert 'aria-invalid="true">Phóng sự về lễ hội Gầu Tào &lt;2026&gt;' in answer.text
    assert f'value="{"a" * 64}"' in answer.text
    assert db_conn.execute("SELECT count(*) FROM content_submissions").fetchone() == (0,)

    no_file = operator.post(
        "/content/submissions",
        data={
            "csrf_token": csrf_of(page),
            "title": "Bản tin",
            "category": "policy",
            "language": "vi",
        },
    )
    assert no_file.status_code == 400
    assert 'type="file" name="file" aria-invalid="true"' in no_file.text
