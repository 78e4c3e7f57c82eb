"""The 4G data page's pager (found by the phone walkthrough): past the
first page it links back to it ("First page", the words of the console's
other lists), keeping the site chosen; the first page has no such link."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import psycopg
import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console import data_usage_page
from tests.support import seed

NewBrowser = Callable[..., TestClient]
NEXT = re.compile(r'<a href="([^"]+)" rel="next" data-action="next-page">')
FIRST = re.compile(r'<a href="([^"]+)" data-action="first-page">([^<]*)</a>')
ROW = re.compile(r'<tr data-board="([^"]+)"')


@pytest.fixture
def many(api_db: str) -> int:
    """More boards on one site than a page holds."""
    with psycopg.connect(api_db) as conn:
        site = seed.site(conn, "nhieu-bang", "bql-kkt", name="Điểm Nhiều Bảng")
        for n in range(data_usage_page.PAGE_SIZE + 5):
            seed.board(conn, f"lc-nhieu-{n:03d}", "nhieu-bang", name=f"Bảng {n:03d}")
        conn.commit()
    return site


def link(pattern: re.Pattern[str], page: str) -> str | None:
    found = pattern.search(page)
    return html.unescape(found.group(1)) if found else None


@pytest.mark.parametrize(("lang", "words"), [("vi", "Trang đầu"), ("en", "First page")])
def test_a_later_page_links_back_to_the_first(
    new_browser: NewBrowser, many: int, lang: str, words: str
) -> None:
    browser = new_browser("admin")
    first = browser.get("/data-usage", params={"site_id": many, "lang": lang})
    assert first.status_code == 200
    assert FIRST.search(first.text) is None  # already on the first page
    following = link(NEXT, first.text)
    assert following is not None
    second = browser.get(following)
    assert second.status_code == 200
    rows = ROW.findall(second.text)
    assert rows == [f"lc-nhieu-{n:03d}" for n in range(50, 55)]
    assert link(NEXT, second.text) is None  # the last page
    back = FIRST.search(second.text)
    assert back is not None
    assert back.group(2) == words
    assert html.unescape(back.group(1)) == f"/data-usage?site_id={many}"  # the site kept
    again = browser.get(html.unescape(back.group(1)))
    assert ROW.findall(again.text) == ROW.findall(first.text)


def test_a_page_past_the_end_still_links_to_the_first(new_browser: NewBrowser, many: int) -> None:
    page = new_browser("admin").get("/data-usage", params={"after": "lc-zzz", "lang": "en"})
    assert page.status_code == 200
    assert ROW.findall(page.text) == []
    assert link(FIRST, page.text) == "/data-usage"
