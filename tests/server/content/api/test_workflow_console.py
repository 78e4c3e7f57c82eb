"""The content workflow in the console: the queue by state, the item page
with the actions the role may take in its state, a confirmation after each
form, the file kept in the archive at submission, the suppliers and overdue
list (Điều 10.1)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.conftest import Conn
from tests.server.api.console.conftest import csrf_of, sign_in
from tests.support import seed

NewBrowser = Callable[..., TestClient]
FILE = b"\x00\x00\x00\x18ftypmp42 a short clip of the border gate"


@pytest.fixture
def paper(db_conn: Conn, password_hash: str) -> int:
    org = seed.organisation(db_conn, "bao-lai-chau", "Báo Lai Châu")
    row = db_conn.execute(
        "INSERT INTO content_suppliers (name, organisation_id, obligation, obligation_from)"
        " VALUES ('Báo Lai Châu', %s, 'monthly', '2026-01-01') RETURNING id",
        (org,),
    ).fetchone()
    seed.user(db_conn, "bao.lc", "supplier", organisation=org, password_hash=password_hash)
    assert row is not None
    return int(row[0])


def supplier_browser(new_browser: NewBrowser) -> TestClient:
    browser = new_browser()
    assert sign_in(browser, "bao.lc").status_code == 303
    return browser


def post(browser: TestClient, page: str, action: str, data: dict[str, Any], **kw: Any) -> Any:
    csrf = csrf_of(browser.get(page).text)
    return browser.post(action, data={**data, "csrf_token": csrf}, **kw)


def test_a_supplier_submits_a_file_and_sees_only_the_queue(
    new_browser: NewBrowser, db_conn: Conn, paper: int, tmp_path: Path
) -> None:
    browser = supplier_browser(new_browser)
    home = browser.get("/")
    assert (home.status_code, home.headers["location"]) == (303, "/content/submissions")
    page = browser.get("/content/submissions")
    assert page.status_code == 200
    assert "Điều 7.2.d" in page.text  # the categories with their articles
    assert 'href="/content/submissions"' in page.text
    for forbidden in ("/content", "/content/suppliers", "/incidents", "/reports", "/cameras"):
        assert browser.get(forbidden).status_code == 403, forbidden
    answer = post(
        browser,
        "/content/submissions",
        "/content/submissions",
        {"title": "Tin ảnh: chợ phiên", "category": "local:goods_services", "language": "vi"},
        files={"file": ("cho-phien.mp4", FILE, "video/mp4")},
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"].endswith("?done=submit")
    shown = browser.get(answer.headers["location"])
    assert "Đã gửi nội dung." in shown.text
    digest = hashlib.sha256(FILE).hexdigest()
    assert digest in shown.text
    row = db_conn.execute(
        "SELECT s.sha256, s.category, s.subcategory, s.supplier_id, f.sha256 IS NOT NULL"
        " FROM content_submissions s LEFT JOIN content_files f ON f.sha256 = s.sha256"
    ).fetchone()
    assert row == (digest, "local", "goods_services", paper, True)
    assert (tmp_path / "data" / "content-files" / "sha256" / digest[:2]).is_dir()
    # no action for the unit while it waits for appraisal
    assert 'action="/content/submissions/1/appraise"' not in shown.text


def test_the_department_appraises_returns_and_approves(
    new_browser: NewBrowser, db_conn: Conn, paper: int
) -> None:
    unit = supplier_browser(new_browser)
    post(
        unit,
        "/content/submissions",
        "/content/submissions",
        {"title": "Video clip", "category": "policy", "language": "vi", "sha256": "ab" * 32},
    )
    admin = new_browser("admin")
    queue = admin.get("/content/submissions?state=submitted")
    assert "Video clip" in queue.text
    item = "/content/submissions/1"
    answer = post(admin, item, f"{item}/appraise", {})
    assert answer.headers["location"] == f"{item}?done=start_appraisal"
    assert "Đã bắt đầu thẩm định." in admin.get(answer.headers["location"]).text
    empty = post(admin, item, f"{item}/return", {"comment": " "})
    assert empty.status_code in (400, 422)
    post(admin, item, f"{item}/return", {"comment": "Âm thanh bị rè"})
    page = unit.get(item)
    assert "Âm thanh bị rè" in page.text
    assert 'id="resubmit-form"' in page.text
    post(unit, item, f"{item}/resubmit", {"sha256": "cd" * 32, "comment": "Đã sửa"})
    post(admin, item, f"{item}/appraise", {})
    answer = post(admin, item, f"{item}/approve", {"comment": "Đạt"})
    assert "Đã phê duyệt" in admin.get(answer.headers["location"]).text
    assert db_conn.execute("SELECT state FROM content_submissions").fetchone() == ("approved",)
    # an invalid step from the console is refused with the state named
    again = post(admin, item, f"{item}/appraise", {})
    assert again.status_code == 409
    assert "không ở trạng thái cho phép thao tác này" in again.text


def test_operators_outside_the_department_may_not_appraise(
    new_browser: NewBrowser, paper: int
) -> None:
    unit = supplier_browser(new_browser)
    post(
        unit,
        "/content/submissions",
        "/content/submissions",
        {"title": "Clip", "category": "policy", "language": "vi", "sha256": "ab" * 32},
    )
    operator = new_browser("operator")
    # the operator's organisation supplies nothing: it sees no submission
    assert operator.get("/content/submissions/1").status_code == 404


def test_suppliers_and_the_overdue_list(new_browser: NewBrowser, paper: int) -> None:
    admin = new_browser("admin")
    page = admin.get("/content/suppliers")
    assert page.status_code == 200
    assert "Điều 10.1.c" in page.text
    answer = post(
        admin,
        "/content/suppliers",
        "/content/suppliers",
        {"name": "Sở Văn hóa, Thể thao và Du lịch", "obligation": "quarterly"},
    )
    assert answer.headers["location"] == "/content/suppliers?done=supplier"
    shown = admin.get(answer.headers["location"])
    assert "Đã lưu đơn vị cung cấp." in shown.text
    assert "Sở Văn hóa, Thể thao và Du lịch" in shown.text
    duplicate = post(
        admin,
        "/content/suppliers",
        "/content/suppliers",
        {"name": "Báo Lai Châu", "obligation": "monthly"},
    )
    assert duplicate.status_code == 409
    bad = post(
        admin, "/content/suppliers", "/content/suppliers", {"name": "X", "obligation": "weekly"}
    )
    assert bad.status_code in (400, 422)
    viewer = new_browser("viewer")
    assert viewer.get("/content/suppliers").status_code == 200
    assert 'id="supplier-form"' not in viewer.get("/content/suppliers").text
