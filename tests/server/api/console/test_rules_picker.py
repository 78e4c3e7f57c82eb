"""The rules page's target (console/rules_page.py): an organisation from a
select, or a site or board typed in the place picker, saved the same way
with JavaScript (a suggestion's text, ending with its token) and without
(an exact name or an id typed), for any of 600 sites (the old select
stopped at 500); an unknown or ambiguous place, or both an organisation
and a place, refused naming the field."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.server.api.console.conftest import csrf_of
from tests.support import seed

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"
FAR = "Trạm Mường Tè Cuối Cùng"


def post(browser: TestClient, form: dict[str, str], lang: str = "vi") -> Any:
    token = csrf_of(browser.get("/rules").text)
    return browser.post(
        f"/rules?lang={lang}", data={**form, "csrf_token": token}, follow_redirects=False
    )


def overrides(api_db: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(api_db) as conn:
        return conn.execute(
            "SELECT rule, organisation_id, site_id, board_id, params FROM rule_overrides"
            " ORDER BY id"
        ).fetchall()


@pytest.fixture
def far_site(api_db: str) -> int:
    """600 more sites, the last (named with accents) far beyond the old cap."""
    with psycopg.connect(api_db) as conn:
        for n in range(599):
            seed.site(conn, f"them-{n:03d}", "bql-kkt", name=f"Điểm thêm {n:03d}")
        far = seed.site(conn, "tram-cuoi", "bql-kkt", name=FAR)
        seed.site(conn, "trung-a", "bql-kkt", name="Điểm Trùng Tên")
        seed.site(conn, "trung-b", "bql-kkt", name="Điểm Trùng Tên")
        conn.commit()
    return far


def test_the_page_lists_places_once_and_no_site_select(
    new_browser: NewBrowser, far_site: int
) -> None:
    page = new_browser("admin").get("/rules").text
    listed = re.search(r'<datalist id="rule-places">(.*?)</datalist>', page, re.S)
    assert listed
    assert listed.group(1).count("<option") == 50
    assert page.count("<datalist") == 1
    pickers = re.findall(r'<input type="text" name="place"[^>]*>', page)
    assert len(pickers) == page.count('data-action="set-threshold"') > 10
    assert all('list="rule-places"' in p and "data-place-search" in p for p in pickers)
    assert all(" required" not in p for p in pickers)  # an organisation needs no place
    assert "<optgroup" not in page
    assert 'value="site:' not in page  # no select of every site


def test_a_rule_is_set_for_a_picked_site_or_board_with_and_without_javascript(
    new_browser: NewBrowser, far_site: int, api_db: str
) -> None:
    admin = new_browser("admin")
    found = admin.get("/search/places", params={"q": "muong te cuoi"}).json()["items"]
    assert [item["value"] for item in found] == [f"site:{far_site}"]
    by_suggestion = post(
        admin, {"rule": "battery_low", "target": "", "place": found[0]["label"], "p_for_s": "60"}
    )
    assert by_suggestion.status_code == 303, by_suggestion.text
    typed_name = post(admin, {"rule": "overheating", "place": "tram muong te cuoi cung",
                              "p_open_above": "80"})  # fmt: skip
    assert typed_name.status_code == 303, typed_name.text
    typed_board = post(admin, {"rule": "battery_low", "place": BOARD, "p_for_s": "90"})
    assert typed_board.status_code == 303, typed_board.text
    typed_id = post(admin, {"rule": "overheating", "place": str(far_site), "p_open_above": "81"})
    assert typed_id.status_code == 303, typed_id.text
    with psycopg.connect(api_db) as conn:
        org = conn.execute("SELECT id FROM organisations WHERE code = 'bql-kkt'").fetchone()
    assert org is not None
    for_org = post(admin, {"rule": "battery_low", "target": f"organisation:{org[0]}",
                           "p_for_s": "30"})  # fmt: skip
    assert for_org.status_code == 303, for_org.text
    assert overrides(api_db) == [
        ("battery_low", None, far_site, None, {"for_s": 60}),
        ("overheating", None, far_site, None, {"open_above": 81}),
        ("battery_low", None, None, BOARD, {"for_s": 90}),
        ("battery_low", org[0], None, None, {"for_s": 30}),
    ]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_an_unknown_ambiguous_or_double_target_is_refused_naming_the_field(
    new_browser: NewBrowser, far_site: int, api_db: str, lang: str
) -> None:
    admin = new_browser("admin")
    unknown = post(
        admin, {"rule": "battery_low", "place": "Không Có Nơi Này", "p_for_s": "5"}, lang
    )
    assert unknown.status_code == 400
    form = unknown.text.split('action="/rules#rule-battery_low"')[1].split("</form>")[0]
    assert re.search(r'name="place"[^>]*value="Không Có Nơi Này"[^>]*aria-invalid="true"', form)
    assert {"vi": "Không có điểm", "en": "No site or board"}[lang] in unknown.text
    twins = post(admin, {"rule": "battery_low", "place": "diem trung ten", "p_for_s": "5"}, lang)
    assert twins.status_code == 400
    assert {"vi": "Nhiều nơi", "en": "Several places"}[lang] in twins.text
    both = post(
        admin,
        {"rule": "battery_low", "target": "organisation:1", "place": FAR, "p_for_s": "5"},
        lang,
    )
    assert both.status_code == 400
    assert {"vi": "không chọn cả hai", "en": "not both"}[lang] in both.text
    nothing = post(admin, {"rule": "battery_low", "p_for_s": "5"})
    assert nothing.status_code == 400
    assert overrides(api_db) == []
