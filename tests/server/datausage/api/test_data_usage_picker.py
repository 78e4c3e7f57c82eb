"""The 4G data page's site pickers (console/data_usage_page.py): the filter
and the site budget form take a site by suggestion, name or id typed
(without JavaScript), any of 600 sites, only in the reader's scope; the
page lists a few sites once, not every site twice."""

from __future__ import annotations

import re
from typing import Any

import psycopg
import pytest

from tests.server.api.console.conftest import csrf_of
from tests.support import seed

BOARD = "lc-ma-lu-thang-01"
FAR = "Trạm Mường Tè Cuối Cùng"


@pytest.fixture
def far(api_db: str) -> dict[str, int]:
    with psycopg.connect(api_db) as conn:
        for n in range(599):
            seed.site(conn, f"them-{n:03d}", "bql-kkt", name=f"Điểm thêm {n:03d}")
        far = seed.site(conn, "tram-cuoi", "bql-kkt", name=FAR)
        seed.board(conn, "lc-cuoi-01", far, name="Bảng cuối")
        other = seed.site(conn, "khac-to-chuc", "ubnd-phong-tho", name="Nơi Tổ Chức Khác")
        seed.board(conn, "lc-khac-01", other, name="Bảng khác")
        conn.commit()
    return {"far": far, "other": other}


def rows(page: str) -> list[str]:
    return re.findall(r'<tr data-board="([^"]+)"', page)


def test_the_filter_takes_a_picked_site_in_scope(new_browser: Any, far: dict[str, int]) -> None:
    operator = new_browser("operator")
    page = operator.get("/data-usage").text
    listed = re.search(r'<datalist id="data-sites">(.*?)</datalist>', page, re.S)
    assert listed
    assert listed.group(1).count("<option") == 50
    assert page.count("<datalist") == 1
    assert "<select" not in page  # no select of every site
    assert len(re.findall(r'<input type="text" name="(site|site_id)"', page)) == 2
    by_name = operator.get("/data-usage", params={"site": "tram muong te cuoi cung"})
    assert by_name.status_code == 200
    assert rows(by_name.text) == ["lc-cuoi-01"]
    assert re.search(rf'name="site"[^>]*value="[^"]*\[site:{far["far"]}\]"', by_name.text)
    label = operator.get("/search/places", params={"q": "cuoi cung", "kind": "site"}).json()
    by_suggestion = operator.get("/data-usage", params={"site": label["items"][0]["label"]})
    assert rows(by_suggestion.text) == ["lc-cuoi-01"]
    by_board = operator.get("/data-usage", params={"site": "lc-cuoi-01"})
    assert rows(by_board.text) == ["lc-cuoi-01"]  # a board: its site
    assert rows(operator.get("/data-usage", params={"site_id": far["far"]}).text) == ["lc-cuoi-01"]
    # another organisation's site: unknown by name, empty by id (nothing leaks)
    other = operator.get("/data-usage", params={"site": "Nơi Tổ Chức Khác"})
    assert other.status_code == 400
    assert 'data-error="site"' in other.text
    assert "Chưa lọc được." in other.text  # a filter saves nothing: not "Chưa lưu được."
    assert "Chưa lưu được." not in other.text
    assert "lc-khac-01" not in other.text
    assert rows(operator.get("/data-usage", params={"site": f"site:{far['other']}"}).text) == []
    assert rows(
        new_browser("admin").get("/data-usage", params={"site": "noi to chuc khac"}).text
    ) == ["lc-khac-01"]


def test_a_site_budget_is_set_for_a_picked_site(
    new_browser: Any, far: dict[str, int], api_db: str
) -> None:
    operator = new_browser("operator")
    token = csrf_of(operator.get("/data-usage").text)

    def send(site: str, mb: str = "700") -> Any:
        return operator.post(
            "/data-budgets",
            data={"csrf_token": token, "site_id": site, "monthly_mb": mb},
            follow_redirects=False,
        )

    assert send(f"{FAR} [site:{far['far']}]").status_code == 303
    assert send("tram muong te cuoi cung", "800").status_code == 303
    assert send(str(far["far"]), "900").status_code == 303
    board = send("lc-cuoi-01")
    assert board.status_code == 400  # a board in the site field
    assert 'data-error="site_id"' in board.text
    assert re.search(r'name="site_id"[^>]*value="lc-cuoi-01"[^>]*aria-invalid="true"', board.text)
    assert send("Nơi Tổ Chức Khác").status_code == 400
    assert send(f"site:{far['other']}").status_code == 404  # the service's scope check
    with psycopg.connect(api_db) as conn:
        budgets = conn.execute("SELECT site_id, monthly_bytes FROM data_budgets").fetchall()
    assert budgets == [(far["far"], 900_000_000)]
