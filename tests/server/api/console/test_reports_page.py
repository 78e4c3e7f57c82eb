"""The console's reports page: recent compliance, the annual report and the
inspection archive downloads through the session."""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from docx import Document
from fastapi.testclient import TestClient

from fleet_server.compliance.models import local_day
from tests.server.api.console.conftest import csrf_of

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"


def failed_today(api_db: str, clock: Any) -> None:
    with psycopg.connect(api_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO compliance_days (board_id, day, morning_minutes, afternoon_minutes,"
            " total_minutes, advertising_minutes, emergency_minutes, morning_unknown,"
            " afternoon_unknown, status, basis) VALUES (%s, %s, 100, 180, 280, 0, 0, 0, 0,"
            " 'non_compliant', '{}')",
            (BOARD, local_day(clock())),
        )


def test_operator_sees_failed_days_and_downloads(
    new_browser: NewBrowser, api_db: str, clock: Any
) -> None:
    failed_today(api_db, clock)
    browser = new_browser("operator")
    page = browser.get("/reports")
    assert page.status_code == 200
    assert "Thời lượng phát 30 ngày qua" in page.text
    assert "Không đạt" in page.text
    assert f'href="/boards/{BOARD}"' in page.text
    assert 'href="/reports"' in page.text  # in the menu
    report = browser.get(
        "/reports/annual",
        params={"year": "2026", "organisation_id": ""},
        follow_redirects=True,
    )
    assert report.status_code == 200, report.text
    doc = Document(io.BytesIO(report.content))
    assert doc.paragraphs[0].text == "BÁO CÁO"
    day = local_day(clock()).isoformat()
    archive = browser.get(
        "/reports/archive",
        params={"from": day, "to": day, "site_id": ""},
        follow_redirects=True,
    )
    assert archive.status_code == 200, archive.text
    with zipfile.ZipFile(io.BytesIO(archive.content)) as zf:
        assert "manifest.json" in zf.namelist()
        assert BOARD in zf.read("thoi-luong_compliance.csv").decode("utf-8-sig")


def test_english_and_roles(new_browser: NewBrowser) -> None:
    page = new_browser("admin").get("/reports", params={"lang": "en"})
    assert page.status_code == 200
    assert "Whole province (consolidated)" in page.text
    assert new_browser("technician").get("/reports").status_code == 403
    assert 'href="/reports"' not in new_browser("technician").get("/tickets").text


def test_board_page_shows_availability_as_reports_compute_it(
    new_browser: NewBrowser, api_db: str, clock: Any
) -> None:
    with psycopg.connect(api_db, autocommit=True) as conn:
        for state, days_ago in (("online", 40), ("lost", 3), ("online", 2)):
            conn.execute(
                "INSERT INTO board_status_history (board_id, at, state) VALUES (%s, %s, %s)",
                (BOARD, clock() - timedelta(days=days_ago), state),
            )
    page = new_browser("operator").get(f"/boards/{BOARD}")
    assert page.status_code == 200
    # one day lost of thirty
    assert "Tỷ lệ hoạt động 30 ngày qua (không tính bảo trì): <strong>96,67 %</strong>" in page.text


def test_console_downloads_are_audited(new_browser: NewBrowser, api_db: str, clock: Any) -> None:
    """The console's forms lead to the API's downloads: audited there, with
    the session's account and the browser's address."""
    browser = new_browser("viewer")
    report = browser.get("/reports/annual", params={"year": "2026"}, follow_redirects=True)
    day = local_day(clock()).isoformat()
    archive = browser.get(
        "/reports/archive", params={"from": day, "to": day}, follow_redirects=True
    )
    assert (report.status_code, archive.status_code) == (200, 200)
    with psycopg.connect(api_db) as conn:
        rows = conn.execute(
            "SELECT action, actor, target_id, after->>'sha256', host(address) FROM audit_log"
            " WHERE action LIKE '%%.download' ORDER BY id"
        ).fetchall()
    assert rows == [
        (
            "report.annual.download",
            "xem",
            "bql-kkt",
            hashlib.sha256(report.content).hexdigest(),
            "127.0.0.1",
        ),
        (
            "archive.download",
            "xem",
            "bql-kkt",
            hashlib.sha256(archive.content).hexdigest(),
            "127.0.0.1",
        ),
    ]


def test_an_admin_records_an_emergency_order_from_the_reports_page(
    new_browser: NewBrowser, api_db: str
) -> None:
    """Điều 8.2: the order of a competent authority, recorded in the console
    by an admin, listed for every compliance reader; the others get no form."""
    admin = new_browser("admin")
    page = admin.get("/reports")
    assert 'action="/reports/emergency-orders"' in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "authority": "UBND tỉnh Lai Châu",
        "document_number": "45/QĐ-UBND",
        "document_date": "2026-11-19",
        "starts_at": "2026-11-20T06:00",
        "ends_at": "2026-11-20T19:00",
        "all_sites": "on",
    }
    saved = admin.post("/reports/emergency-orders", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    shown = admin.get(saved.headers["location"]).text
    assert "45/QĐ-UBND" in shown
    assert "Đã ghi nhận lệnh" in shown
    with psycopg.connect(api_db) as conn:
        starts = conn.execute(
            "SELECT starts_at FROM emergency_orders WHERE document_number = '45/QĐ-UBND'"
        ).fetchone()
    assert starts is not None
    assert starts[0].isoformat() == "2026-11-19T23:00:00+00:00"  # 06:00 in Lai Châu
    operator = new_browser("operator")
    listed = operator.get("/reports").text
    assert "45/QĐ-UBND" in listed
    assert 'action="/reports/emergency-orders"' not in listed
    refused = operator.post(
        "/reports/emergency-orders",
        data={**form, "csrf_token": csrf_of(listed)},
        follow_redirects=False,
    )
    assert refused.status_code == 403


def test_an_order_form_that_names_no_place_is_refused(new_browser: NewBrowser) -> None:
    admin = new_browser("admin")
    page = admin.get("/reports")
    form = {
        "csrf_token": csrf_of(page.text),
        "authority": "UBND tỉnh Lai Châu",
        "document_number": "46/QĐ-UBND",
        "document_date": "2026-11-19",
        "starts_at": "2026-11-20T06:00",
        "ends_at": "2026-11-20T19:00",
    }
    refused = admin.post("/reports/emergency-orders", data=form, follow_redirects=False)
    assert refused.status_code == 400
    # the order comes back with everything typed, and why
    assert "Chưa lưu được." in refused.text
    assert 'value="46/QĐ-UBND"' in refused.text
    assert 'value="2026-11-20T06:00"' in refused.text
    assert 'value="UBND tỉnh Lai Châu"' in refused.text
    bad_time = admin.post(
        "/reports/emergency-orders",
        data={**form, "all_sites": "on", "starts_at": "sáng mai"},
        follow_redirects=False,
    )
    assert bad_time.status_code == 400
    box = bad_time.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert "Mục cần sửa: " in box
    assert "starts_at:" not in box
    assert 'required aria-invalid="true" value="sáng mai"' in bad_time.text
    assert 'name="all_sites" value="on" checked' in bad_time.text


def test_an_admin_revokes_an_order_from_the_reports_page(
    new_browser: NewBrowser, api_db: str
) -> None:
    with psycopg.connect(api_db, autocommit=True) as conn:
        row = conn.execute(
            "INSERT INTO emergency_orders (authority, document_number, document_date, starts_at,"
            " ends_at, all_sites, created_by) VALUES ('UBND tỉnh', '47/QĐ-UBND', '2026-11-19',"
            " '2026-11-20T06:00+07', '2026-11-20T19:00+07', true, 'quan.tri') RETURNING id"
        ).fetchone()
    assert row is not None
    admin = new_browser("admin")
    page = admin.get("/reports").text
    action = f'action="/reports/emergency-orders/{row[0]}/revoke"'
    assert action in page
    assert action not in new_browser("operator").get("/reports").text
    done = admin.post(
        f"/reports/emergency-orders/{row[0]}/revoke",
        data={"csrf_token": csrf_of(page), "reason": "nhầm số văn bản"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    after = admin.get(done.headers["location"]).text
    assert "Đã thu hồi lệnh" in after
    assert action not in after
    with psycopg.connect(api_db) as conn:
        revoked = conn.execute(
            "SELECT revoked_by, revoke_reason FROM emergency_orders WHERE id = %s", (row[0],)
        ).fetchone()
    assert revoked == ("quan.tri", "nhầm số văn bản")


def test_a_refused_budget_entry_comes_back_with_what_was_typed(
    new_browser: NewBrowser, api_db: str
) -> None:
    """A bad amount comes back on the budget page (not an error page): the
    amount and the note kept, the amount marked and named, the reason in
    the reader's language, nothing stored."""
    admin = new_browser("admin")
    for lang, field, reason in (
        ("vi", "Mục cần sửa: ", "Số đồng, chỉ gồm chữ số"),
        ("en", "Field to correct: ", "Whole đồng, digits only"),
    ):
        page = admin.get("/reports/budget", params={"lang": lang}).text
        form = {
            "csrf_token": csrf_of(page),
            "year": "2027",
            "basis": "spent",
            "line": "power",
            "amount_vnd": "12 triệu",
            "note": "Tiền điện quý IV <ước tính>",
        }
        refused = admin.post("/reports/budget", data=form, follow_redirects=False)
        assert refused.status_code == 400, refused.text
        box = refused.text.split('class="flash error refusal"')[1].split("</div>")[0]
        assert field in box
        assert reason in box
        assert "amount_vnd:" not in box
        assert 'aria-invalid="true" value="12 triệu"' in refused.text
        assert 'value="Tiền điện quý IV &lt;ước tính&gt;"' in refused.text
        assert '<option value="spent" selected>' in refused.text
    bad_year = admin.post(
        "/reports/budget", data={**form, "year": "20x7", "amount_vnd": "5"}, follow_redirects=False
    )
    assert bad_year.status_code == 400
    assert 'name="year" min="2020" max="2100" aria-invalid="true" value="20x7"' in bad_year.text
    with psycopg.connect(api_db) as conn:
        assert conn.execute("SELECT count(*) FROM report_budget_entries").fetchone() == (0,)


def test_organisations_are_named_in_the_readers_language(
    new_browser: NewBrowser, api_db: str
) -> None:
    with psycopg.connect(api_db, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO organisations (code, name, name_en, kind)"
            " VALUES ('so-van-hoa', 'Sở Văn hoá Thử', 'Department of Culture Test', 'other')"
        )
    admin = new_browser("admin")
    for page in ("/reports", "/reports/budget"):
        english = admin.get(page, params={"lang": "en"}).text
        assert ">Department of Culture Test</option>" in english, page
        vietnamese = admin.get(page, params={"lang": "vi"}).text
        assert ">Sở Văn hoá Thử</option>" in vietnamese, page
        assert "Department of Culture Test" not in vietnamese, page
