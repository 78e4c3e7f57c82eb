"""The console's keyset lists (incidents, tickets, audit log): the next link
carries the cursor and the filters and opens the next page, the first-page
link returns, a bad cursor is a page that says so, and a total beyond
10,000 reads "10.000+"."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from fleet_server.access.pagination import COUNT_CAP
from tests.server.api.test_keyset_paging import add_audit, add_incidents, add_tickets

NewBrowser = Callable[..., TestClient]
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
FIRST = re.compile(r'<a href="([^"]+)" data-action="first-page"')


def _link(pattern: re.Pattern[str], page: str) -> str | None:
    found = pattern.search(page)
    return html.unescape(found.group(1)) if found else None


def walk(browser: TestClient, url: str, row: re.Pattern[str]) -> list[str]:
    """Every row of every page, following the next links."""
    rows: list[str] = []
    for _ in range(100):
        answer = browser.get(url)
        assert answer.status_code == 200, answer.text
        rows += row.findall(answer.text)
        following = _link(NEXT, answer.text)
        if following is None:
            return rows
        assert "cursor=" in following
        url = following
    raise AssertionError("the pages did not end")


def test_incidents_next_and_first_links(new_browser: NewBrowser, db_conn: Any) -> None:
    add_incidents(db_conn, 500)
    browser = new_browser("admin")
    first = browser.get("/incidents", params={"severity": "minor"})
    following = _link(NEXT, first.text)
    assert following is not None
    assert following.startswith("/incidents?")
    assert "severity=minor" in following  # the filter is kept
    assert _link(FIRST, first.text) is None
    second = browser.get(following)
    assert second.status_code == 200
    back = _link(FIRST, second.text)
    assert back == "/incidents?severity=minor"
    row = re.compile(r'id="incident-(\d+)"')
    assert set(row.findall(first.text)).isdisjoint(row.findall(second.text))
    rows = walk(browser, "/incidents?state=all", row)
    assert len(rows) == len(set(rows))
    (count,) = db_conn.execute("SELECT count(*) FROM incidents WHERE parent_id IS NULL").fetchone()
    assert len(rows) == count
    # the live fragment of a later page keeps the page's links
    live = browser.get("/live" + following)
    assert live.status_code == 200
    assert _link(FIRST, live.text) == "/incidents?severity=minor"


def test_tickets_and_audit_pages_walk(new_browser: NewBrowser, db_conn: Any) -> None:
    add_tickets(db_conn, 120)
    browser = new_browser("admin")
    rows = walk(browser, "/tickets?show=all", re.compile(r'href="/tickets/(\d+)"'))
    assert len(set(rows)) == 120
    add_audit(db_conn, 230)
    entries = walk(browser, "/audit?action=paging.", re.compile(r'data-action="paging\.'))
    assert len(entries) == 230


def test_bad_cursor_goes_to_the_first_page(new_browser: NewBrowser) -> None:
    """An old bookmark or a cut-off link: the list's first page, filters
    kept, in the reader's language — not an error in the API's words."""
    browser = new_browser("admin")
    for url in ("/incidents", "/tickets", "/audit", "/admin/boards"):
        for bad in ("not-a-cursor", "x" * 5000):
            answer = browser.get(url, params={"cursor": bad, "state": "all"})
            assert answer.status_code == 303, (url, answer.status_code)
            assert answer.headers["location"] == f"{url}?state=all", url
    # a live region polled with a bad position says so (its page reloads it)
    answer = browser.get("/live/incidents", params={"cursor": "not-a-cursor"})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")


def test_capped_total_in_words(new_browser: NewBrowser, db_conn: Any) -> None:
    add_audit(db_conn, COUNT_CAP + 1)
    browser = new_browser("admin")
    assert "100 mục trong 10.000+" in browser.get("/audit").text
    assert "100 of 10,000+" in browser.get("/audit", params={"lang": "en"}).text
