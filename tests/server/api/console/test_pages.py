"""Every page for every role: rendered where the role may look, refused
(403, or 404 outside its scope) where it may not, and menus that offer only
what the role may open. The Border Guard sees cameras and nothing else."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.api.conftest import open_test_incident
from tests.server.api.console import words_state
from tests.server.api.console.fleet_state import (
    DAY_BOARD,
    PICTURE,
    add_picture,
    first_camera,
    open_ticket,
    record_day,
    report_cameras,
    report_pictures,
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
        "/releases",
        "/data-usage",
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
        "/data-usage",
        "/admin/contacts",
    ],
    "technician": ["/", "/incidents", "/tickets", "/maintenance", "/cameras", "/data-usage"],
    "viewer": [
        "/",
        "/incidents",
        "/tickets",
        "/maintenance",
        "/cameras",
        "/content",
        "/reports",
        "/data-usage",
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
    assert page.count('<figure class="chart" data-chart=') == 6  # drawn by the browser
    assert 'id="board-charts"' in page  # from this data (test_board_charts.py)
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


@pytest.fixture
def pictures(db_conn: Any, clock: Clock, fleet: dict[str, Any]) -> dict[str, Any]:
    """The screen and the first camera of the day's board in pictures, with
    what the board judged: a black screen, a camera turned away."""
    camera = first_camera(db_conn, DAY_BOARD)
    taken = clock.now - timedelta(minutes=5)
    report_pictures(
        db_conn,
        DAY_BOARD,
        taken,
        screen={"black": True, "luma_mean": 2.5, "luma_stddev": 0.5},
        camera={"moved": True, "reference_distance": 29},
    )
    return {
        "camera": camera,
        "screen": add_picture(db_conn, DAY_BOARD, taken, reason="incident"),
        "camera_picture": add_picture(db_conn, DAY_BOARD, taken, camera_id=camera),
    }


def _section(page: str, marker: str) -> str:
    start = page.index(marker)
    return page[start : page.index("</section>", start)]


def test_board_page_pictures_for_each_role(
    new_browser: NewBrowser, pictures: dict[str, Any], db_conn: Any
) -> None:
    screen, camera = pictures["screen"], pictures["camera_picture"]
    page = new_browser("operator").get(f"/boards/{DAY_BOARD}").text
    section = _section(page, 'id="pictures"')
    assert "Hình ảnh" in section
    for picture in (screen, camera):
        img = re.search(rf'<img src="/api/v1/snapshots/{picture}\.jpg"[^>]*>', section)
        assert img is not None
        assert 'width="480" height="270"' in img.group(0)
        assert 'loading="lazy"' in img.group(0)
        assert 'alt="Ảnh ' in img.group(0)
    # the times in Vietnam time with how long ago, the reasons and the verdicts in words
    assert "(5 phút trước)" in section
    assert "chụp khi có sự cố" in section
    assert "chụp định kỳ" in section
    assert 'data-verdict="black">Hình đen' in section
    assert 'data-verdict="moved">Bị xoay khỏi góc chuẩn' in section
    assert "Độ sáng trung bình 2,5/255" in section
    assert "khác hình chuẩn 29/64" in section
    assert "chụp từ màn hình X11" in section
    assert (
        section.count('data-action="take-picture"')
        == 1
        + db_conn.execute(
            "SELECT count(*) FROM cameras WHERE board_id = %s", (DAY_BOARD,)
        ).fetchone()[0]
    )
    assert section.count('data-action="use-reference"') == 2
    english = new_browser("operator").get(f"/boards/{DAY_BOARD}?lang=en").text
    assert "Take a picture now" in english
    assert "Use as reference" in english
    assert "Turned away from its reference" in english
    # the viewer sees the same pictures, without a button
    viewer = _section(new_browser("viewer").get(f"/boards/{DAY_BOARD}").text, 'id="pictures"')
    assert f"/api/v1/snapshots/{screen}.jpg" in viewer
    assert f"/api/v1/snapshots/{camera}.jpg" in viewer
    assert "<form" not in viewer
    # the images are served to the console's session, as far as the role may see
    browser = new_browser("viewer")
    image = browser.get(f"/api/v1/snapshots/{screen}.jpg")
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert image.content == PICTURE


def test_the_border_guard_sees_camera_pictures_never_the_screen(
    new_browser: NewBrowser, pictures: dict[str, Any]
) -> None:
    guard = new_browser("guard")
    cameras = guard.get("/cameras").text
    assert f'<img src="/api/v1/snapshots/{pictures["camera_picture"]}.jpg"' in cameras
    assert f"/api/v1/snapshots/{pictures['screen']}.jpg" not in cameras
    assert "Ảnh mới nhất" in cameras
    assert guard.get("/live/cameras").text.count('<img src="/api/v1/snapshots/') == 1
    assert guard.get(f"/boards/{DAY_BOARD}").status_code == 403
    assert guard.get(f"/api/v1/snapshots/{pictures['camera_picture']}.jpg").status_code == 200
    assert guard.get(f"/api/v1/snapshots/{pictures['screen']}.jpg").status_code == 404
    operator = new_browser("operator").get("/cameras").text
    assert f"/api/v1/snapshots/{pictures['camera_picture']}.jpg" in operator


def test_a_lost_board_page_names_its_likely_cause(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    words = words_state.seed_everything(db_conn, clock.now)
    board = words_state.SITE_BOARDS[0]
    page = new_browser("operator").get(f"/boards/{board}").text
    box = _section(page, 'class="card offline-cause"')
    assert "Nguyên nhân có thể" in box
    headline = "Nguyên nhân có thể nhất: Nguồn điện: mất điện lưới và UPS đã cạn pin (rất có thể)."
    assert headline in box
    # evidence in Vietnam time (02:40 UTC is 09:40 in Lai Châu)
    assert "09:40:00 01/12/2026: mất điện lưới, bảng chạy pin UPS (pin 41,5 %" in box
    assert "Cũng có thể" in box
    assert "Đã loại trừ" in box
    assert "Cập nhật lại lúc 10:20 01/12/2026" in box
    assert f'href="/incidents/{words.incidents["board_lost"]}"' in box
    live = new_browser("operator").get(f"/live/boards/{board}?lang=en").text
    assert "Most likely cause: Power: the mains failed and the UPS ran out (very likely)." in live
    online = new_browser("operator").get(f"/boards/{words_state.BOARD}").text
    assert "offline-cause" not in online
