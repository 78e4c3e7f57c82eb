"""The console's incident queue sorted by site name (found by the phone
walkthrough: the list had no such order): A to Z by the name the incident
keeps of its site, equal names by id, so the cursor pages neither skip nor
repeat an incident (a province-wide reader along the index, a scoped one
site by site, storage_site_order); the order kept by the pager and the
live fragment, and an unknown order read as the default."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.test_keyset_paging import add_incidents

NewBrowser = Callable[..., TestClient]
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
FIRST = re.compile(r'<a href="([^"]+)" data-action="first-page"')
ROW = re.compile(r'id="incident-(\d+)"')
SELECTED = re.compile(r'<option value="([a-z_]+)" selected>([^<]*)</option>')


def walk(browser: TestClient, url: str) -> list[int]:
    """Every incident of every page, following the next links."""
    rows: list[int] = []
    sorted_by_site = "sort=site_name" in url
    for _ in range(100):
        answer = browser.get(url)
        assert answer.status_code == 200, answer.text
        rows += [int(r) for r in ROW.findall(answer.text)]
        found = NEXT.search(answer.text)
        if found is None:
            return rows
        url = html.unescape(found.group(1))
        assert ("sort=site_name" in url) == sorted_by_site  # the order kept
    raise AssertionError("the pages did not end")


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_the_queue_pages_by_site_name(new_browser: NewBrowser, db_conn: Any, role: str) -> None:
    add_incidents(db_conn, 300)
    db_conn.commit()
    browser = new_browser(role)
    rows = walk(browser, "/incidents?state=all&sort=site_name")
    assert len(rows) == len(set(rows))  # none twice
    names = dict(db_conn.execute("SELECT id, site_name FROM incidents").fetchall())
    assert rows == sorted(rows, key=lambda i: (names[i], i))  # A to Z, then by id
    seen = walk(browser, "/incidents?state=all")  # the default order: the same incidents
    assert sorted(seen) == sorted(rows)
    assert seen != rows
    if role == "operator":  # one organisation's sites only
        assert len(rows) < len(names)
    else:
        assert len(rows) == len(names)


def test_the_order_is_chosen_shown_and_kept(new_browser: NewBrowser, db_conn: Any) -> None:
    add_incidents(db_conn, 120)
    db_conn.commit()
    browser = new_browser("admin")
    page = browser.get("/incidents", params={"state": "all", "sort": "site_name", "lang": "en"})
    assert ("site_name", "Site name in Vietnamese (A–Z)") in SELECTED.findall(page.text)
    following = NEXT.search(page.text)
    assert following is not None
    second = browser.get(html.unescape(following.group(1)))
    first = FIRST.search(second.text)
    assert first is not None
    assert html.unescape(first.group(1)) == "/incidents?state=all&sort=site_name"
    live = browser.get("/live" + html.unescape(following.group(1)))
    assert ROW.findall(live.text) == ROW.findall(second.text)  # the fragment in the same order
    vi = browser.get("/incidents", params={"sort": "site_name", "lang": "vi"})
    assert ("site_name", "Tên điểm lắp đặt (A–Z)") in SELECTED.findall(vi.text)


def test_an_unknown_order_is_the_default(new_browser: NewBrowser, db_conn: Any) -> None:
    add_incidents(db_conn, 60)
    db_conn.commit()
    browser = new_browser("admin")
    odd = browser.get("/incidents", params={"state": "all", "sort": "title"})
    assert odd.status_code == 200
    plain = browser.get("/incidents", params={"state": "all"})
    assert ROW.findall(odd.text) == ROW.findall(plain.text)
    assert ("severity", "Nặng nhất, mới nhất trước") in SELECTED.findall(odd.text)
    too_long = browser.get("/incidents", params={"sort": "x" * 21})
    assert too_long.status_code != 200
