"""What a phone walkthrough of the console found in its words and links: a
supplier's queue linked the approved-content page they may not open; a
picker that takes only sites asked for "a site's or board's name"; the
archive's refusal said "Not saved." of a download; the rules page's
refusal named its field "Or a site, a board"."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.access.pagination import COUNT_CAP
from fleet_server.api.console import i18n
from tests.server.api.conftest import Conn
from tests.server.api.console.conftest import csrf_of, sign_in
from tests.support import seed

NewBrowser = Callable[..., TestClient]
MESSAGES = Path(i18n.__file__).with_name("messages.toml")
LINK = re.compile(r'<a [^>]*href="(/[^"#?]*)')
SITE_HINT = {"vi": "Gõ tên hoặc mã điểm lắp đặt", "en": "Type a site&#39;s name or code"}
WHERE_HINT = {
    "vi": "Gõ tên hoặc mã điểm lắp đặt, bảng",
    "en": "Type a site&#39;s or board&#39;s name",
}


@pytest.fixture
def twins(api_db: str) -> None:
    """Two sites whose names share a part, so "tram trung" names neither."""
    with psycopg.connect(api_db) as conn:
        seed.site(conn, "trung-mot", "bql-kkt", name="Trạm Trùng Một")
        seed.site(conn, "trung-hai", "bql-kkt", name="Trạm Trùng Hai")
        conn.commit()


def test_a_supplier_is_linked_to_no_page_they_may_not_open(
    new_browser: NewBrowser, db_conn: Conn, password_hash: str
) -> None:
    org = seed.organisation(db_conn, "bao-lai-chau", "Báo Lai Châu")
    seed.user(db_conn, "bao.lc", "supplier", organisation=org, password_hash=password_hash)
    db_conn.commit()
    browser = new_browser()
    assert sign_in(browser, "bao.lc").status_code == 303
    page = browser.get("/content/submissions")
    assert page.status_code == 200
    links = set(LINK.findall(page.text)) - {"/logout"}
    assert "/content/submissions" in links
    refused = [link for link in sorted(links) if browser.get(link).status_code == 403]
    assert refused == []


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_picker_of_sites_only_asks_for_a_site(new_browser: NewBrowser, lang: str) -> None:
    admin = new_browser("admin")

    def pickers(path: str, name: str) -> list[str]:
        page = admin.get(path, params={"lang": lang})
        assert page.status_code == 200, path
        return re.findall(rf'<input type="text" name="{name}"[^>]*>', page.text)

    only_sites = [
        *pickers("/data-usage", "site"),
        *pickers("/reports", "site"),
        *pickers("/admin/boards", "site_id"),
        *[p for p in pickers("/rules", "place") if 'data-place-kind="site"' in p],
    ]
    assert len(only_sites) >= 5
    for picker in only_sites:
        assert f'placeholder="{SITE_HINT[lang]}"' in picker, picker
    # a picker that takes a board too still says so
    anywhere = [p for p in pickers("/rules", "place") if "data-place-kind" not in p]
    anywhere += pickers("/incidents/report", "target")
    assert anywhere
    for picker in anywhere:
        assert WHERE_HINT[lang] in picker, picker


@pytest.mark.parametrize(
    ("lang", "heading", "saved"),
    [("vi", "Chưa tải được.", "Chưa lưu được."), ("en", "Not downloaded.", "Not saved.")],
)
def test_a_refused_archive_says_it_was_not_downloaded(
    new_browser: NewBrowser, twins: None, lang: str, heading: str, saved: str
) -> None:
    operator = new_browser("operator")
    answer = operator.get(
        "/reports/archive",
        params={"from": "2026-11-01", "to": "2026-11-02", "site": "tram trung", "lang": lang},
    )
    assert answer.status_code == 400
    refusal = re.search(r'<div class="flash error refusal".*?</div>', answer.text, re.S)
    assert refusal
    assert heading in refusal.group(0)
    assert saved not in refusal.group(0)


@pytest.mark.parametrize(
    ("lang", "field"),
    [
        ("vi", "Mục cần sửa: Điểm lắp đặt hoặc bảng tin."),
        ("en", "Field to correct: Site or board."),
    ],
)
def test_a_refused_rule_place_is_named_as_a_field(
    new_browser: NewBrowser, twins: None, lang: str, field: str
) -> None:
    admin = new_browser("admin")
    token = csrf_of(admin.get("/rules").text)
    answer = admin.post(
        f"/rules?lang={lang}",
        data={"rule": "battery_low", "place": "tram trung", "p_for_s": "5", "csrf_token": token},
    )
    assert answer.status_code == 400
    assert field in answer.text


def test_the_english_words_cite_articles_in_english() -> None:
    """The English pages cite "Article 12.2" as the others do, not "Điều 12.2"."""
    catalogue = tomllib.loads(MESSAGES.read_text(encoding="utf-8"))
    cited = sorted(key for key, texts in catalogue.items() if "Điều" in texts.get("en", ""))
    assert cited == []


def test_a_board_suggestion_does_not_say_board_twice(new_browser: NewBrowser, api_db: str) -> None:
    """Boards are named "Bảng tin …": the picker showed "Bảng Bảng tin …"."""
    with psycopg.connect(api_db) as conn:
        site = seed.site(conn, "tram-thu", "bql-kkt", name="Trạm Thử Gợi Ý")
        seed.board(conn, "lc-tram-thu-01", site, name="Bảng tin Trạm Thử Gợi Ý số 01")
        conn.commit()
    operator = new_browser("operator")
    found = operator.get("/search/places", params={"q": "tram thu goi y", "kind": "board"})
    assert [item["label"] for item in found.json()["items"]] == [
        "Bảng tin Trạm Thử Gợi Ý số 01 (lc-tram-thu-01) · Trạm Thử Gợi Ý [board:lc-tram-thu-01]"
    ]


@pytest.mark.parametrize(
    ("lang", "heading", "note"),
    [
        ("vi", "Sự cố đang mở (130)", "Hiển thị 10 sự cố nặng nhất, mới nhất trong 130"),
        ("en", "Open incidents (130)", "Showing the 10 most severe and newest of 130"),
    ],
)
def test_the_board_page_counts_all_its_open_incidents(
    new_browser: NewBrowser, db_conn: Conn, lang: str, heading: str, note: str
) -> None:
    """The board page lists its 10 worst and newest open incidents
    (``SHOWN_INCIDENTS``; 100 before); its heading said "(100)" of a board
    with thousands open."""
    board = "lc-ma-lu-thang-01"
    db_conn.execute(
        "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,"
        " organisation_id, title, opened_at)"
        " SELECT 'report:walk-' || n, 'other_reported', 'technical', 'minor', 'open', b.id,"
        " b.site_id, s.organisation_id, 'walk ' || n, now() - n * interval '1 minute'"
        " FROM generate_series(1, 130) n, boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = %s",
        (board,),
    )
    db_conn.commit()
    page = new_browser("operator").get(f"/boards/{board}", params={"lang": lang})
    assert page.status_code == 200
    assert f"<h2>{heading}</h2>" in page.text
    assert note in page.text
    assert page.text.count('class="incident-title"') == 10


@pytest.mark.parametrize(("lang", "shown"), [("vi", "(10.000+)"), ("en", "(10,000+)")])
def test_a_capped_count_of_open_incidents_says_so(
    new_browser: NewBrowser, db_conn: Conn, lang: str, shown: str
) -> None:
    """The overview and the site page said "(10000)" of a count stopped at
    its cap; the lists say "10.000+"."""
    board = "lc-ma-lu-thang-01"
    site = seed.site_of_board(db_conn, board)
    db_conn.execute(
        "INSERT INTO incidents (dedupe_key, rule, class, severity, state, board_id, site_id,"
        " organisation_id, title, opened_at)"
        " SELECT 'report:walk-' || n, 'other_reported', 'technical', 'minor', 'open', b.id,"
        " b.site_id, s.organisation_id, 'walk ' || n, now() - n * interval '1 second'"
        " FROM generate_series(1, %s) n, boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = %s",
        (COUNT_CAP + 5, board),
    )
    operator = new_browser("operator")
    overview = operator.get("/", params={"lang": lang})
    assert overview.status_code == 200
    heading = re.search(r'<h2 id="inc-h">[^<]*</h2>', overview.text)
    assert heading
    assert heading.group(0).endswith(f"{shown}</h2>")
    site_page = operator.get(f"/sites/{site}", params={"lang": lang})
    assert site_page.status_code == 200
    assert f"{shown}</h2>" in site_page.text
