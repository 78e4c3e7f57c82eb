"""The overview's map and site list, and the API's sites health, are built
once per change of the fleet's health: a change shows once the background
rebuild started by the next request is done (that request is not kept
waiting),
each scope sees its own sites only, concurrent requests share one rendering,
and each language has its own."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console import overview_fleet
from fleet_server.organisations import health_cache
from tests.server.api.conftest import open_test_incident, set_status
from tests.server.api.console.fleet_state import DAY_BOARD
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
SITE_LINK = re.compile(r'href="/sites/(\d+)"')


def marker_of(page: str, site: int) -> str:
    found = re.search(
        rf'<a href="/sites/{site}" class="map-site"><title>[^<]*</title>'
        r'<circle [^>]*class="marker h-(\w+)"',
        page,
    )
    assert found, f"no marker for site {site}"
    return found.group(1)


def boards_at(db_conn: Any, site: int) -> list[str]:
    rows = db_conn.execute("SELECT id FROM boards WHERE site_id = %s AND enabled", (site,))
    return [r[0] for r in rows.fetchall()]


def sites_of(db_conn: Any, organisation: str) -> set[int]:
    rows = db_conn.execute(
        "SELECT s.id FROM sites s JOIN organisations o ON o.id = s.organisation_id"
        " WHERE o.code = %s",
        (organisation,),
    ).fetchall()
    return {r[0] for r in rows}


def test_the_overview_and_sites_health_change_when_a_board_changes_state(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    site = db_conn.execute("SELECT site_id FROM boards WHERE id = %s", (DAY_BOARD,)).fetchone()[0]
    for board in boards_at(db_conn, site):
        set_status(db_conn, board, "online", clock.now)
    admin = new_browser("admin")
    assert marker_of(admin.get("/").text, site) == "online"
    assert marker_of(admin.get("/").text, site) == "online"  # kept
    health = admin.get("/api/v1/sites/health")
    etag = health.headers["etag"]
    assert admin.get("/api/v1/sites/health", headers={"If-None-Match": etag}).status_code == 304
    summary = admin.get("/api/v1/fleet/summary").json()

    for board in boards_at(db_conn, site):
        set_status(db_conn, board, "offline", clock.now)

    # the first request after the change is served what is kept, at once, and
    # starts one rebuild in the background; once it is done, the change shows
    assert marker_of(admin.get("/").text, site) == "online"
    assert admin.get("/api/v1/sites/health", headers={"If-None-Match": etag}).status_code == 304
    admin.get("/api/v1/fleet/summary")
    assert health_cache.SHARED.settle()
    assert marker_of(admin.get("/").text, site) == "offline"
    assert marker_of(admin.get("/live/overview").text, site) == "offline"
    changed = admin.get("/api/v1/sites/health", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    row = next(s for s in changed.json() if s["id"] == site)
    assert row["health"] == "offline"
    after = admin.get("/api/v1/fleet/summary").json()
    moved = len(boards_at(db_conn, site))
    assert after["offline"] == summary["offline"] + moved
    assert after["online"] == summary["online"] - moved

    # an incident opened at a site shows in its row of the list
    incident = open_test_incident(db_conn, DAY_BOARD, "display_dark", now=clock.now)
    admin.get("/")
    assert health_cache.SHARED.settle()
    page = admin.get("/").text
    assert f'href="/incidents/{incident}"' in page  # the active incidents, read once per change
    row_html = page[page.index(f'<td data-label="Điểm"><a href="/sites/{site}">') :]
    assert '<span class="badge sev-major">1</span>' in row_html[: row_html.index("</tr>")]


def test_two_scopes_never_see_each_others_sites(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    operator, district = new_browser("operator"), new_browser("district")
    own = {
        "operator": sites_of(db_conn, "bql-kkt"),
        "district": sites_of(db_conn, "ubnd-phong-tho"),
    }
    assert own["operator"]
    assert own["district"]
    assert not own["operator"] & own["district"]
    for _ in range(2):  # built, then kept: both times each its own
        for key, browser in (("operator", operator), ("district", district)):
            links = {int(s) for s in SITE_LINK.findall(browser.get("/").text)}
            assert links == own[key], key
            api = {s["id"] for s in browser.get("/api/v1/sites/health").json()}
            assert api == own[key], key
    # a change rebuilds each scope's own part, still apart
    set_status(db_conn, DAY_BOARD, "lost", clock.now)
    for _ in range(2):  # the kept part (rebuilding in the background), then the rebuilt one
        for key, browser in (("district", district), ("operator", operator)):
            links = {int(s) for s in SITE_LINK.findall(browser.get("/").text)}
            assert links == own[key], key
            api = {s["id"] for s in browser.get("/api/v1/sites/health").json()}
            assert api == own[key], key
        assert health_cache.SHARED.settle()


def test_concurrent_requests_at_one_version_render_once(new_browser: NewBrowser) -> None:
    browsers = [new_browser("admin") for _ in range(8)]
    before = overview_fleet.RENDERS["en"]
    start = threading.Barrier(len(browsers))
    pages: list[str] = []

    def read(browser: TestClient) -> None:
        start.wait(10)
        answer = browser.get("/", params={"lang": "en"})
        assert answer.status_code == 200
        pages.append(answer.text)

    threads = [threading.Thread(target=read, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(pages) == len(browsers)
    for page in pages:  # the kept bytes spliced in place of the placeholder
        assert overview_fleet.PLACEHOLDER not in page
        assert page.count('class="site-map"') == 1
        assert page.rstrip().endswith("</html>")
    # one rendering (and at most its confirmation, made 2 s after the first
    # on a slow machine; health_cache.CONFIRM_AFTER_S), never one a request
    assert overview_fleet.RENDERS["en"] - before in (1, 2)
    # the kept part carries no one's session: each page has its own CSRF token
    tokens = {re.search(r'name="csrf_token" value="([^"]+)"', p).group(1) for p in pages}  # type: ignore[union-attr]
    assert len(tokens) == len(browsers)


def test_each_language_has_its_own_rendering(new_browser: NewBrowser) -> None:
    admin = new_browser("admin")
    before = dict(overview_fleet.RENDERS)
    vietnamese = admin.get("/", params={"lang": "vi"}).text
    english = admin.get("/", params={"lang": "en"}).text
    again = admin.get("/", params={"lang": "vi"}).text
    for page, words in ((vietnamese, "Mất toàn bộ"), (english, "All down"), (again, "Mất toàn bộ")):
        legend = page[page.index('<ul class="legend">') :]
        assert words in legend[: legend.index("</ul>")]
    assert overview_fleet.RENDERS["en"] == before.get("en", 0) + 1
    assert overview_fleet.RENDERS["vi"] - before.get("vi", 0) in (1, 2)  # 2: confirmed


@pytest.mark.parametrize("role", ["admin", "operator"])
def test_the_live_fragment_is_the_pages_live_region(new_browser: NewBrowser, role: str) -> None:
    """/live/overview splices the kept fleet part in as bytes, as the page
    does: the same markup as the page's live region, no placeholder left."""
    browser = new_browser(role)
    for lang in ("vi", "en"):
        page = browser.get("/", params={"lang": lang}).text
        # uncompressed, so that its Content-Length is the body's own
        live = browser.get(
            "/live/overview", params={"lang": lang}, headers={"Accept-Encoding": "identity"}
        )
        assert live.status_code == 200
        assert overview_fleet.PLACEHOLDER not in live.text
        assert int(live.headers["content-length"]) == len(live.content)
        region = page[page.index('<div data-live="/live/overview">') :]
        assert live.text.strip() in region
        assert live.text.count('class="site-map"') == 1
