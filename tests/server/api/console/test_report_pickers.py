"""The reports page's sites (console/reports_page.py): the archive form's
site and the emergency order's sites are picked with the place picker (a
suggestion, a name or an id typed), in the reader's scope, instead of a
select of every site; the budget page reads no sites at all."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.server.api.console.conftest import csrf_of
from tests.support import seed

NewBrowser = Callable[..., TestClient]
FAR = "Trạm Mường Tè Cuối Cùng"


@pytest.fixture
def sites(api_db: str) -> dict[str, int]:
    with psycopg.connect(api_db) as conn:
        for n in range(520):
            seed.site(conn, f"them-{n:03d}", "bql-kkt", name=f"Điểm thêm {n:03d}")
        far = seed.site(conn, "tram-cuoi", "bql-kkt", name=FAR)
        other = seed.site(conn, "khac-to-chuc", "ubnd-phong-tho", name="Nơi Tổ Chức Khác")
        conn.commit()
    return {"far": far, "other": other}


def archive(browser: TestClient, site: str) -> tuple[int, str]:
    answer = browser.get(
        "/reports/archive", params={"from": "2026-11-01", "to": "2026-11-02", "site": site}
    )
    return answer.status_code, answer.headers.get("location", answer.text)


def test_the_archive_takes_a_picked_site_in_scope(
    new_browser: NewBrowser, sites: dict[str, int]
) -> None:
    operator = new_browser("operator")
    page = operator.get("/reports").text
    assert '<select name="site_id"' not in page
    assert 'name="site_ids"' not in page
    listed = re.search(r'<datalist id="site-places">(.*?)</datalist>', page, re.S)
    assert listed
    assert listed.group(1).count("<option") == 50
    status, where = archive(operator, "tram muong te cuoi cung")
    assert status == 303
    assert urlsplit(where).path == "/api/v1/archive"
    assert parse_qs(urlsplit(where).query) == {
        "from": ["2026-11-01"],
        "to": ["2026-11-02"],
        "site_id": [str(sites["far"])],
        "lang": ["vi"],  # the file is named in the reader's language
    }
    status, where = archive(operator, f"{FAR} [site:{sites['far']}]")
    assert parse_qs(urlsplit(where).query)["site_id"] == [str(sites["far"])]
    status, page = archive(operator, "Nơi Tổ Chức Khác")  # another organisation's
    assert status == 400
    assert 'data-error="site"' in page
    assert archive(operator, "lc-ma-lu-thang-01")[0] == 400  # a board, not a site
    status, where = archive(operator, "")
    assert "site_id" not in parse_qs(urlsplit(where).query)  # every site


def test_an_order_covers_the_picked_sites(
    new_browser: NewBrowser, sites: dict[str, int], api_db: str
) -> None:
    admin = new_browser("admin")
    page = admin.get("/reports").text
    pickers = re.findall(r'<input type="text" name="site"[^>]*>', page)
    assert len(pickers) == 4  # the archive's and the order's three
    form = {
        "csrf_token": csrf_of(page),
        "authority": "UBND tỉnh Lai Châu",
        "document_number": "46/QĐ-UBND",
        "document_date": "2026-11-19",
        "starts_at": "2026-11-20T06:00",
        "ends_at": "2026-11-20T19:00",
        "site": ["tram muong te cuoi cung", f"site:{sites['other']}", ""],
    }
    saved = admin.post("/reports/emergency-orders", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    refused = admin.post(
        "/reports/emergency-orders",
        data={**form, "document_number": "47/QĐ-UBND", "site": ["Không Có Nơi Này"]},
        follow_redirects=False,
    )
    assert refused.status_code == 400
    assert re.search(r'name="site"[^>]*value="Không Có Nơi Này"[^>]*aria-invalid="true"',
                     refused.text)  # fmt: skip
    with psycopg.connect(api_db) as conn:
        orders = conn.execute(
            "SELECT o.document_number, array_agg(s.site_id ORDER BY s.site_id)"
            " FROM emergency_orders o JOIN emergency_order_sites s ON s.order_id = o.id"
            " GROUP BY o.document_number"
        ).fetchall()
    assert orders == [("46/QĐ-UBND", sorted([sites["far"], sites["other"]]))]


def test_the_budget_page_lists_no_sites(new_browser: NewBrowser, sites: dict[str, int]) -> None:
    page = new_browser("admin").get("/reports/budget").text
    assert FAR not in page
    assert "Điểm thêm" not in page


def boxes(page: str) -> list[bool]:
    """Whether each of the order form's site boxes is marked refused."""
    form = page[page.index('action="/reports/emergency-orders"') :]
    return [
        'aria-invalid="true"' in p
        for p in re.findall(r'<input type="text" name="site"[^>]*>', form)
    ]


@pytest.mark.parametrize(
    ("typed", "bad"),
    [
        (["tram muong te cuoi cung", "Không Có Nơi Này", ""], 1),  # unknown
        (["", "", "diem them 00"], 2),  # ambiguous: ten sites hold it
        (["lc-ma-lu-thang-01", "tram muong te cuoi cung", ""], 0),  # a board, not a site
    ],
)
def test_a_refused_order_marks_only_the_box_at_fault(
    new_browser: NewBrowser, sites: dict[str, int], typed: list[str], bad: int
) -> None:
    admin = new_browser("admin")
    form = {
        "csrf_token": csrf_of(admin.get("/reports").text),
        "authority": "UBND tỉnh Lai Châu",
        "document_number": "48/QĐ-UBND",
        "document_date": "2026-11-19",
        "starts_at": "2026-11-20T06:00",
        "ends_at": "2026-11-20T19:00",
        "site": typed,
    }
    refused = admin.post("/reports/emergency-orders?lang=en", data=form, follow_redirects=False)
    assert refused.status_code == 400
    assert boxes(refused.text) == [n == bad for n in range(3)]
    assert f'data-error="site.{bad}"' in refused.text
    assert f"Field to correct: Sites, entry {bad + 1}." in refused.text
    vi = admin.post("/reports/emergency-orders?lang=vi", data=form, follow_redirects=False)
    assert f"Mục cần sửa: Các điểm lắp đặt, mục thứ {bad + 1}." in vi.text
    assert boxes(vi.text) == [n == bad for n in range(3)]


def test_an_order_refused_for_another_field_marks_no_site_box(
    new_browser: NewBrowser, sites: dict[str, int]
) -> None:
    admin = new_browser("admin")
    form = {
        "csrf_token": csrf_of(admin.get("/reports").text),
        "authority": "UBND tỉnh Lai Châu",
        "document_number": "49/QĐ-UBND",
        "document_date": "2026-11-19",
        "starts_at": "not a time",
        "ends_at": "2026-11-20T19:00",
        "site": ["tram muong te cuoi cung", "", ""],
    }
    refused = admin.post("/reports/emergency-orders?lang=en", data=form, follow_redirects=False)
    assert refused.status_code == 400
    assert 'data-error="starts_at"' in refused.text
    assert boxes(refused.text) == [False, False, False]
    assert "entry" not in refused.text.split('data-error="starts_at"', 1)[1].split("</div>")[0]
