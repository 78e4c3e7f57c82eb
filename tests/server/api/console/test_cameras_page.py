"""The console's cameras page pages by cursor (50 cameras a page, failing
first, then by site): following its "next" links, from the page or its live
fragment, shows every camera the account sees once, in the list's order, and
the tabs count each health group. The API's list pages the same way."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from fleet_server.api.console.cameras import PAGE_SIZE
from fleet_server.cameras.models import STALE_AFTER
from tests.server.api.test_camera_health import cam, reading, reference, varied
from tests.support import seed
from tests.support.clock import Clock

__all__ = ["varied"]

ROW = re.compile(r'<tr class="cam-(\w+)" data-camera="([^"]+)"')
NEXT = re.compile(r'<a href="([^"]+)" rel="next"')
COUNT = re.compile(r'href="/cameras\?health=(\w+)"[^>]*data-count="(\d+)"')


def many_cameras(conn: Any, clock: Clock, boards: list[str]) -> None:
    """Enough cameras for three pages: 90 more on one board, half failing."""
    board = boards[2]
    ids = [f"extra{i:02d}" for i in range(90)]
    for camera in ids:
        conn.execute(
            "INSERT INTO cameras (board_id, camera_id, name) VALUES (%s, %s, %s)",
            (board, camera, f"Camera {camera}"),
        )
    statuses = ("ok", "timeout")
    reading(conn, board, clock.now, *[cam(c, statuses[i % 2]) for i, c in enumerate(ids)])


def walk(browser: TestClient, url: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(health, camera) of every row, following the "next" links; the pages' URLs."""
    rows: list[tuple[str, str]] = []
    urls = []
    while url:
        urls.append(url)
        page = browser.get(url)
        assert page.status_code == 200, page.text
        found = ROW.findall(page.text)
        assert len(found) <= PAGE_SIZE
        rows += found
        following = NEXT.search(page.text)
        url = html.unescape(following.group(1)) if following else ""
        if url:
            assert len(found) == PAGE_SIZE
    return rows, urls


def expected(conn: Any, clock: Clock, organisation: str | None, health: str | None) -> list[Any]:
    where, params = "TRUE", []
    if organisation is not None:
        where = "s.organisation_id = %s"
        params = [seed.organisation_id(conn, organisation)]
    listed = reference(conn, clock.now - STALE_AFTER, where, params, health)
    return [(r[7], f"{r[0]}/{r[1]}") for r in listed]


def test_the_pages_show_every_camera_once_in_order(
    new_browser: Callable[..., TestClient], db_conn: Any, clock: Clock, varied: list[str]
) -> None:
    many_cameras(db_conn, clock, varied)
    for key, organisation in (("admin", None), ("operator", "bql-kkt")):
        browser = new_browser(key)
        for health in (None, "failing", "ok"):
            want = expected(db_conn, clock, organisation, health)
            start = "/cameras" + (f"?health={health}" if health else "")
            rows, urls = walk(browser, start)
            assert rows == want, (key, health)
            if health is None:
                assert len(urls) >= 3  # paged, not one long page
                # the live fragment of a page shows that page's rows
                fragment = browser.get(urls[1].replace("/cameras", "/live/cameras", 1))
                assert ROW.findall(fragment.text) == rows[PAGE_SIZE : 2 * PAGE_SIZE]
                page = browser.get(start).text
                counts = {h: int(n) for h, n in COUNT.findall(page)}
                assert counts == {
                    h: sum(1 for g, _ in want if g == h) for h in ("failing", "unknown", "ok")
                }


def test_a_cursor_written_by_hand_is_refused(
    new_browser: Callable[..., TestClient], varied: list[str]
) -> None:
    browser = new_browser("operator")
    first = browser.get("/cameras?cursor=not-a-cursor&health=failing")  # the first page instead
    assert first.status_code == 303
    assert first.headers["location"] == "/cameras?health=failing"
    assert browser.get("/live/cameras?cursor=not-a-cursor").status_code == 422
    assert browser.get("/cameras?health=broken").status_code == 400  # as before


def test_the_api_pages_by_cursor(
    as_: Callable[[str], Any], db_conn: Any, clock: Clock, varied: list[str]
) -> None:
    many_cameras(db_conn, clock, varied)
    for key, organisation in (("admin", None), ("operator", "bql-kkt")):
        want = expected(db_conn, clock, organisation, None)
        got: list[tuple[str, str]] = []
        url = "/api/v1/cameras?limit=7"
        while url:
            answer = as_(key).get(url)
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert body["total"] == len(want)
            assert not body["total_capped"]
            got += [(c["health"], f"{c['board_id']}/{c['camera_id']}") for c in body["items"]]
            url = ""
            if body["next_cursor"]:
                url = f"/api/v1/cameras?limit=7&cursor={body['next_cursor']}"
                assert answer.headers["Link"].startswith("</api/v1/cameras?")
        assert got == want
    operator = as_("operator")
    assert operator.get("/api/v1/cameras?cursor=bad").status_code == 422
    assert operator.get("/api/v1/cameras?cursor=x&offset=5").status_code == 422
    assert operator.get("/api/v1/cameras?offset=10001").status_code == 422
    by_site = operator.get("/api/v1/cameras?sort=site_name&offset=1&limit=3").json()
    assert by_site["next_cursor"] is None
    assert len(by_site["items"]) == 3
