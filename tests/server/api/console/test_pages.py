"""Every page for every role: rendered where the role may look, refused
(403, or 404 outside its scope) where it may not, and menus that offer only
what the role may open. The Border Guard sees cameras and nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.conftest import open_test_incident
from tests.server.api.console.fleet_state import (
    DAY_BOARD,
    open_ticket,
    record_day,
    report_cameras,
    set_states,
)
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
MENU_LINK = re.compile(r'<nav class="menu".*?</nav>', re.S)
HREF = re.compile(r'href="([^"]+)"')

#: page -> roles that get it (others: 403; the district operator: 404 for
#: the border gate's objects, which are outside its organisation).
PAGES = {
    "/": {"admin", "operator", "technician", "viewer", "district", "province"},
    "/sites/{site}": {"admin", "operator", "technician", "viewer", "province"},
    "/boards/{board}": {"admin", "operator", "technician", "viewer", "province"},
    "/incidents": {"admin", "operator", "technician", "viewer", "district", "province"},
    "/incidents/{incident}": {"admin", "operator", "technician", "viewer", "province"},
    "/tickets": {"admin", "operator", "technician", "viewer", "district", "province"},
    "/tickets/{ticket}": {"admin", "operator", "technician", "viewer", "province"},
    "/cameras": {"admin", "operator", "technician", "viewer", "district", "province", "guard"},
    "/audit": {"admin"},
    "/tickets/new": {"admin", "operator", "district"},
    "/maintenance": {"admin", "operator", "technician", "viewer", "district", "province"},
    "/maintenance/preventive": {
        "admin",
        "operator",
        "technician",
        "viewer",
        "district",
        "province",
    },
    "/rules": {"admin"},
    "/content": {"admin", "operator", "viewer", "district", "province"},
    "/content/submissions": {"admin", "operator", "district"},
    "/content/suppliers": {"admin", "operator", "viewer", "district", "province"},
    "/reports": {"admin", "operator", "viewer", "district", "province"},
    "/live/overview": {"admin", "operator", "technician", "viewer", "district", "province"},
    "/live/boards/{board}": {"admin", "operator", "technician", "viewer", "province"},
    "/live/incidents": {"admin", "operator", "technician", "viewer", "district", "province"},
    "/live/incidents/{incident}": {"admin", "operator", "technician", "viewer", "province"},
    "/live/cameras": {"admin", "operator", "technician", "viewer", "district", "province", "guard"},
    "/admin/contacts": {"admin", "operator", "viewer", "district", "province"},
    "/admin/routes": {"admin", "operator", "viewer", "district", "province"},
    "/admin/users": {"admin"},
    "/admin/boards": {"admin", "operator", "district"},
}
OUT_OF_SCOPE = {
    "/sites/{site}",
    "/boards/{board}",
    "/tickets/{ticket}",
    "/live/boards/{board}",
    "/incidents/{incident}",
    "/live/incidents/{incident}",
}
#: The Border Guard reads incidents, but only camera ones: another is a 404.
INCIDENT_PAGES = {"/incidents/{incident}", "/live/incidents/{incident}"}
MENUS = {
    "admin": [
        "/",
        "/incidents",
        "/tickets",
        "/maintenance",
        "/cameras",
        "/content",
        "/content/submissions",
        "/reports",
        "/notices",
        "/rules",
        "/audit",
        "/admin/contacts",
    ],
    "operator": [
        "/",
        "/incidents",
        "/tickets",
        "/maintenance",
        "/cameras",
        "/content",
        "/content/submissions",
        "/reports",
        "/notices",
        "/admin/contacts",
    ],
    "technician": ["/", "/incidents", "/tickets", "/maintenance", "/cameras"],
    "viewer": [
        "/",
        "/incidents",
        "/tickets",
        "/maintenance",
        "/cameras",
        "/content",
        "/reports",
        "/admin/contacts",
    ],
    "guard": ["/cameras"],
}


@pytest.fixture
def fleet(db_conn: Any, clock: Clock) -> dict[str, Any]:
    set_states(db_conn, clock.now)
    record_day(db_conn, clock.now)
    report_cameras(db_conn, clock.now)
    incident = open_test_incident(db_conn, DAY_BOARD, "display_dark", now=clock.now)
    open_test_incident(db_conn, DAY_BOARD, "camera_unreachable", severity="minor", now=clock.now)
    site = db_conn.execute("SELECT site_id FROM boards WHERE id = %s", (DAY_BOARD,)).fetchone()
    return {
        "incident": incident,
        "site": site[0],
        "board": DAY_BOARD,
        "ticket": open_ticket(db_conn, DAY_BOARD, clock.now),
    }


def expected_status(page: str, role: str) -> int:
    if role in PAGES[page]:
        return 200
    if role == "guard" and page == "/":
        return 303
    if role == "district" and page in OUT_OF_SCOPE:
        return 404
    if role == "guard" and page in INCIDENT_PAGES:
        return 404
    return 403


@pytest.mark.parametrize(
    "role", ["admin", "operator", "technician", "viewer", "district", "province", "guard"]
)
def test_each_page_for_each_role(new_browser: NewBrowser, fleet: dict[str, Any], role: str) -> None:
    browser = new_browser(role)
    for page, _ in PAGES.items():
        url = page.format(**fleet)
        answer = browser.get(url)
        assert answer.status_code == expected_status(page, role), (role, url)
        if answer.status_code == 303:
            continue
        assert answer.headers["content-type"].startswith("text/html"), url
        if answer.status_code in (403, 404) and not url.startswith("/live/"):
            assert "<h1>Lỗi" in answer.text  # a page, in Vietnamese, not problem+json
    if role in MENUS:
        menu = MENU_LINK.search(browser.get("/cameras").text)
        assert menu is not None
        assert HREF.findall(menu.group(0)) == MENUS[role]


def test_border_guard_sees_its_cameras_and_camera_incidents_only(
    new_browser: NewBrowser, fleet: dict[str, Any]
) -> None:
    guard = new_browser("guard")
    assert guard.get("/").headers["location"] == "/cameras"
    page = guard.get("/cameras").text
    # Cameras of the border gates only (the Border Guard's sites).
    assert "Cửa khẩu" in page
    assert "Trung tâm huyện" not in page
    assert 'class="cam-failing"' in page
    # Its camera incident, without links into board pages it may not open.
    assert "camera_unreachable" in page
    assert "display_dark" not in page
    assert 'href="/boards/' not in page
    assert 'href="/sites/' not in page
    assert "Tổng quan" not in page


def test_overview_draws_the_map_and_lists_problem_sites_first(
    new_browser: NewBrowser, fleet: dict[str, Any]
) -> None:
    page = new_browser("admin").get("/").text
    markers = re.findall(r'<circle cx="[\d.]+" cy="[\d.]+" r="[\d.]+" class="marker h-(\w+)"', page)
    assert len(markers) == 12  # every seeded site has coordinates
    assert markers.count("offline") == 2
    # Markers link to their sites.
    assert f'<a href="/sites/{fleet["site"]}" class="map-site">' in page
    rows = re.findall(r'<span class="badge h-(\w+)">', page)
    ranks = {"offline": 0, "degraded": 1, "unknown": 2, "online": 3}
    assert [ranks[r] for r in rows] == sorted(ranks[r] for r in rows)
    counts = dict(re.findall(r'<li class="count (?:st-)?(\w+)"><span class="n">(\d+)</span>', page))
    assert counts == {
        "total": "14",
        "online": "9",
        "offline": "1",
        "lost": "2",
        "stale": "1",
        "unknown": "1",
    }


def test_board_page_shows_readings_charts_and_history(
    new_browser: NewBrowser, fleet: dict[str, Any]
) -> None:
    page = new_browser("operator").get(f"/boards/{DAY_BOARD}").text
    assert "Viettel" in page  # latest network reading
    assert "221,5 V" in page or "222 V" in page
    assert page.count('class="series"') >= 6  # six charts, some in several runs
    assert "Lịch sử kết nối" in page
    assert 'class="band st-online"' in page
    assert "display_dark" in page
    assert "Kiểm tra bảng" in page  # the board's ticket


def test_unknown_objects_and_pages_are_friendly_404s(new_browser: NewBrowser) -> None:
    browser = new_browser("admin")
    for url in ("/boards/no-such-board", "/sites/999999", "/tickets/424242", "/no/such/page"):
        answer = browser.get(url)
        assert answer.status_code == 404, url
        assert "Không tìm thấy" in answer.text
    assert browser.get("/sites/not-a-number").status_code == 404
    api = browser.get("/api/v1/boards/no-such-board")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


def test_a_crash_is_a_friendly_500_page(app: Any) -> None:
    def explode() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/explode", explode)
    app.add_api_route("/api/v1/explode", explode)
    with TestClient(app, raise_server_exceptions=False) as browser:
        page = browser.get("/explode", params={"lang": "en"})
        assert page.status_code == 500
        assert "The server ran into an error" in page.text
        assert "boom" not in page.text
        api = browser.get("/api/v1/explode")
        assert api.status_code == 500
        assert api.headers["content-type"].startswith("application/problem+json")


def test_vietnamese_by_default_english_on_request(new_browser: NewBrowser, db_conn: Any) -> None:
    browser = new_browser("operator")
    page = browser.get("/")
    assert '<html lang="vi">' in page.text
    assert "Tổng quan hệ thống" in page.text
    english = browser.get("/", params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert "Fleet overview" in english.text
    assert "lang=en" in english.headers["set-cookie"]
    # The choice sticks (cookie), also on error pages.
    assert "Fleet overview" in browser.get("/").text
    assert "was not found" in browser.get("/boards/nope").text
    assert "Tổng quan hệ thống" in browser.get("/", params={"lang": "vi"}).text
    assert "Tổng quan hệ thống" in browser.get("/").text


def test_the_accounts_language_is_the_default(new_browser: NewBrowser, db_conn: Any) -> None:
    db_conn.execute("UPDATE users SET language = 'en' WHERE username = 'xem'")
    viewer = new_browser("viewer")
    assert "Fleet overview" in viewer.get("/").text
    login = new_browser().get("/login", params={"lang": "en"})
    assert "Sign in" in login.text


def test_security_headers_on_pages_and_assets(new_browser: NewBrowser) -> None:
    browser = new_browser("admin")
    for url in ("/", "/login", "/static/console.css", "/static/console.js", "/boards/nope"):
        answer = browser.get(url)
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp, url
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["referrer-policy"] == "same-origin"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert browser.get("/").headers["cache-control"] == "no-store"
