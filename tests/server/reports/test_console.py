"""The console's side of the report: the ad hoc report form (Điều 14.3) and
the budget page where an organisation enters next year's estimate on the
lines of Điều 11.1.b ("… nguồn điện, bảo trì, bảo dưỡng, sửa chữa, vận hành,
đường truyền internet và sản xuất các sản phẩm truyền thông phục vụ tuyên
truyền …"), with a confirmation after saving."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.server.api.console.conftest import csrf_of, sign_in
from tests.server.reports.test_period import docx_text
from tests.support import seed

NewBrowser = Callable[..., TestClient]


def test_the_period_form_leads_to_the_report(new_browser: NewBrowser) -> None:
    operator = new_browser("operator")
    page = operator.get("/reports")
    assert 'action="/reports/period"' in page.text
    assert "Báo cáo đột xuất theo kỳ (Điều 14.3)" in page.text
    answer = operator.get(
        "/reports/period", params={"from": "2026-11-01", "to": "2026-11-30", "organisation_id": ""}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == (
        "/api/v1/reports/period?from=2026-11-01&to=2026-11-30&lang=vi"  # the file's name's
    )
    report = operator.get(answer.headers["location"])
    assert report.status_code == 200, report.text
    assert "từ ngày 01/11/2026 đến ngày 30/11/2026" in docx_text(report.content)
    assert new_browser("technician").get("/reports/period").status_code == 403


def form(page: str, **values: str) -> dict[str, str]:
    base = {"basis": "estimate", "year": "2027", "line": "operation", "amount_vnd": "120.000.000"}
    return {"csrf_token": csrf_of(page), **base, **values}


def test_an_operator_enters_next_years_estimate(new_browser: NewBrowser, api_db: str) -> None:
    operator = new_browser("operator")
    page = operator.get("/reports/budget")
    assert page.status_code == 200
    assert "Điều 11.1.b" in page.text
    assert "Sản xuất các sản phẩm truyền thông phục vụ tuyên truyền" in page.text
    saved = operator.post("/reports/budget", data=form(page.text, note="thuê vận hành"))
    assert saved.status_code == 303, saved.text
    shown = operator.get(saved.headers["location"]).text
    assert "Đã lưu số liệu." in shown
    assert "120.000.000" in shown
    assert "thuê vận hành" in shown
    with psycopg.connect(api_db) as conn:
        row = conn.execute(
            "SELECT o.code, e.year, e.line, e.amount_vnd, e.entered_by"
            " FROM report_budget_entries e JOIN organisations o ON o.id = e.organisation_id"
        ).fetchone()
    assert row == ("bql-kkt", 2027, "operation", 120_000_000, "van.hanh")
    # the viewer sees the amounts, and no form
    viewer = new_browser("viewer").get("/reports/budget").text
    assert "120.000.000" in viewer
    assert 'action="/reports/budget"' not in viewer


@pytest.mark.parametrize(
    ("values", "message"),
    [
        # the reason in the reader's language (vi here), beside the form
        ({"amount_vnd": "một triệu"}, "Số đồng, chỉ gồm chữ số"),
        ({"amount_vnd": "-5"}, "Số đồng, chỉ gồm chữ số"),
        ({"amount_vnd": "1" * 16}, "amount_vnd"),
        ({"line": "lunch"}, "Lựa chọn không hợp lệ."),
        ({"basis": "guess"}, "Lựa chọn không hợp lệ."),
        ({"organisation_id": "x"}, "organisation_id"),
    ],
    ids=["words", "negative", "too-large", "unknown-line", "unknown-basis", "bad-organisation"],
)
def test_bad_entries_are_refused_and_named(
    new_browser: NewBrowser, values: dict[str, str], message: str
) -> None:
    operator = new_browser("operator")
    page = operator.get("/reports/budget")
    refused = operator.post("/reports/budget", data=form(page.text, **values))
    assert refused.status_code == 400, refused.text
    assert message in refused.text


def test_only_those_who_may_enter_amounts_post_them(new_browser: NewBrowser) -> Any:
    viewer = new_browser("viewer")
    page = viewer.get("/reports/budget")
    assert viewer.post("/reports/budget", data=form(page.text)).status_code == 403
    assert new_browser("technician").get("/reports/budget").status_code == 403


def test_a_viewer_of_sites_only_sees_an_empty_budget_page(
    new_browser: NewBrowser, api_db: str, password_hash: str
) -> None:
    """An account of sites (no organisation of its own) has no budget: the
    page says there is nothing, where it answered 400 without a word."""
    with psycopg.connect(api_db) as conn:
        row = conn.execute("SELECT id FROM sites ORDER BY id LIMIT 1").fetchone()
        assert row is not None
        seed.user(conn, "chi.xem.diem", "viewer", sites=[row[0]], password_hash=password_hash)
        conn.commit()
    browser = new_browser()
    assert sign_in(browser, "chi.xem.diem").status_code == 303
    page = browser.get("/reports/budget")
    assert page.status_code == 200, page.text
    assert 'action="/reports/budget"' not in page.text
