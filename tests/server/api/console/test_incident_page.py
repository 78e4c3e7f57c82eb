"""One incident's page (``/incidents/{id}``): its timeline in Vietnam time,
where it happened, its tickets and the forms, for each role in its scope —
the Border Guard sees its camera incidents there, without links into board
pages, and gets a 404 for any other incident."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fleet_server.api.console import i18n
from fleet_server.tickets import storage as tickets
from tests.server.api.conftest import audit_actions, open_test_incident
from tests.server.api.console import words_state
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.fleet_state import (
    DAY_BOARD,
    add_picture,
    open_ticket,
    report_cameras,
)
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]


@pytest.fixture
def incidents(db_conn: Any, clock: Clock) -> dict[str, Any]:
    """A board incident with a ticket opened for it, and a camera incident,
    at Ma Lù Thàng (a border gate run by bql-kkt, cameras guarded by bdbp)."""
    opened = clock.now - timedelta(minutes=30)
    board = open_test_incident(db_conn, DAY_BOARD, "display_dark", now=opened)
    camera = open_test_incident(
        db_conn, DAY_BOARD, "camera_unreachable", severity="minor", now=opened
    )
    ticket = open_ticket(db_conn, DAY_BOARD, clock.now, "Màn hình tối")
    with db_conn.transaction():
        tickets.link_incident(db_conn, ticket, board, actor="van.hanh", now=clock.now)
    site = db_conn.execute("SELECT site_id FROM boards WHERE id = %s", (DAY_BOARD,)).fetchone()
    return {"board": board, "camera": camera, "ticket": ticket, "site": site[0], "at": opened}


def test_the_incident_page_for_each_role(
    new_browser: NewBrowser, incidents: dict[str, Any], db_conn: Any
) -> None:
    board, camera = incidents["board"], incidents["camera"]
    operator = new_browser("operator")
    answer = operator.get(f"/incidents/{board}")
    assert answer.status_code == 200
    page = answer.text
    assert "display_dark on lc-ma-lu-thang-01" in page  # a title as written, not data
    # The timeline, in Vietnam time, with who did what.
    opened = i18n.format_time(incidents["at"], "vi", seconds=True)
    assert re.search(rf"{re.escape(opened)}</span> <strong>Mở</strong> · <span", page)
    assert "Hệ thống giám sát (Màn hình tắt trong khung giờ phát)" in page  # the engine, in words
    # Where, and the ticket opened for it.
    assert f'href="/boards/{DAY_BOARD}"' in page
    assert f'href="/sites/{incidents["site"]}"' in page
    assert f'href="/tickets/{incidents["ticket"]}"' in page
    assert "Màn hình tối" in page
    # The operator's forms, returning to this page.
    for action in ("acknowledge", "resolve", "comment"):
        assert f'action="/incidents/{board}/{action}"' in page
    assert f'name="next" value="/incidents/{board}"' in page
    assert f'data-live="/live/incidents/{board}"' in page
    english = operator.get(f"/incidents/{board}", params={"lang": "en"}).text
    assert "Timeline" in english
    assert i18n.format_time(incidents["at"], "en", seconds=True) in english

    # Titles in the lists lead to the page.
    link = f'href="/incidents/{board}"'
    for url in ("/incidents", f"/boards/{DAY_BOARD}", f"/sites/{incidents['site']}", "/"):
        assert link in operator.get(url).text, url
    assert link in operator.get(f"/tickets/{incidents['ticket']}").text

    # A viewer reads it without forms; another organisation's operator gets 404.
    viewer = new_browser("viewer").get(f"/incidents/{board}").text
    assert "Hệ thống giám sát" in viewer
    assert "/acknowledge" not in viewer
    assert "/comment" not in viewer
    district = new_browser("district")
    for url in (f"/incidents/{board}", f"/live/incidents/{board}", "/incidents/999999"):
        assert district.get(url).status_code == 404, url
    assert district.get("/incidents/0").status_code == 404
    # The operator sees the camera incidents of its boards as well.
    assert operator.get(f"/incidents/{camera}").status_code == 200


def test_the_border_guard_sees_its_camera_incidents_only(
    new_browser: NewBrowser, incidents: dict[str, Any], db_conn: Any, clock: Clock
) -> None:
    report_cameras(db_conn, clock.now)
    guard = new_browser("guard")
    camera = f"/incidents/{incidents['camera']}"
    cameras = guard.get("/cameras").text
    assert f'href="{camera}"' in cameras  # the incident list and the failing camera's row
    answer = guard.get(camera)
    assert answer.status_code == 200
    page = answer.text
    assert "camera_unreachable on lc-ma-lu-thang-01" in page
    assert "Cửa khẩu quốc tế Ma Lù Thàng" in page  # where, as text
    # Nothing the Border Guard may not open: no board or site links, no
    # tickets, no acknowledge/resolve; it may comment.
    assert 'href="/boards/' not in page
    assert 'href="/sites/' not in page
    assert 'href="/tickets' not in page
    assert 'href="/incidents"' not in page
    assert 'href="/cameras"' in page
    assert "/acknowledge" not in page
    assert f'action="{camera}/comment"' in page
    assert guard.get(f"/live{camera}").status_code == 200
    for url in (f"/incidents/{incidents['board']}", f"/live/incidents/{incidents['board']}"):
        assert guard.get(url).status_code == 404, url

    answer = guard.post(
        f"{camera}/comment",
        data={"csrf_token": csrf_of(page), "text": "Đã báo đồn kiểm tra", "next": camera},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{camera}#incident-{incidents['camera']}"
    assert audit_actions(db_conn)[-1] == ("bien.phong", "incident.comment")
    refused = guard.post(f"{camera}/acknowledge", data={"csrf_token": csrf_of(page)})
    assert refused.status_code == 403
    assert "Đã báo đồn kiểm tra" in guard.get(camera).text


def test_acknowledge_comment_and_resolve_on_the_incident_page(
    new_browser: NewBrowser, incidents: dict[str, Any], db_conn: Any
) -> None:
    incident = incidents["board"]
    url = f"/incidents/{incident}"
    operator = new_browser("operator")
    token = csrf_of(operator.get(url).text)
    assert operator.post(f"{url}/acknowledge", data={"next": url}).status_code == 403
    assert operator.post(f"{url}/acknowledge", data={"csrf_token": "x" * 40}).status_code == 403
    for action, form in (
        ("acknowledge", {}),
        ("comment", {"text": "Đã gọi điện cho cán bộ tại cửa khẩu"}),
        ("resolve", {"note": "Khởi động lại trình phát"}),
    ):
        answer = operator.post(f"{url}/{action}", data={"csrf_token": token, "next": url, **form})
        assert answer.status_code == 303, (action, answer.text)
        assert answer.headers["location"] == f"{url}#incident-{incident}"
    assert [a for a in audit_actions(db_conn) if a[1].startswith("incident.")] == [
        ("van.hanh", "incident.acknowledge"),
        ("van.hanh", "incident.comment"),
        ("van.hanh", "incident.resolve"),
    ]
    page = operator.get(url).text
    assert 'data-incident-state="resolved"' in page
    events = re.findall(r'<li data-event="(\w+)">.*?<span class="actor">([^<]+)</span>', page)
    assert events == [
        ("opened", "Hệ thống giám sát (Màn hình tắt trong khung giờ phát)"),
        ("acknowledged", "van.hanh"),
        ("comment", "van.hanh"),
        ("resolved", "van.hanh"),
    ]
    assert "Khởi động lại trình phát" in page
    assert "/acknowledge" not in page  # nothing left to do
    fragment = operator.get(f"/live{url}")
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert 'data-incident-state="resolved"' in fragment.text


@pytest.mark.parametrize(
    ("lang", "field_words", "reason"),
    [
        ("vi", "Mục cần sửa: Đã làm gì (bắt buộc).", "Có ký tự NUL"),
        ("en", "Field to correct: What was done (required).", "Contains a NUL character"),
    ],
)
def test_a_refused_resolution_comes_back_with_the_note_typed(
    new_browser: NewBrowser,
    incidents: dict[str, Any],
    db_conn: Any,
    lang: str,
    field_words: str,
    reason: str,
) -> None:
    """A long note with a stray NUL (a phone keyboard, a paste) is refused on
    the incident's page, open, with the note kept, the field marked and why."""
    incident = incidents["board"]
    url = f"/incidents/{incident}"
    operator = new_browser("operator")
    token = csrf_of(operator.get(f"{url}?lang={lang}").text)
    note = "Đã thay bộ nguồn <b>24V</b> & kiểm tra " + "cáp mạng " * 40 + "\x00xong"
    answer = operator.post(
        f"{url}/resolve", data={"csrf_token": token, "next": "/incidents", "note": note}
    )
    assert answer.status_code == 400
    page = answer.text
    refusal = page.split('class="flash error refusal"')[1].split("</div>")[0]
    assert field_words in refusal
    assert reason in refusal
    assert "note:" not in refusal  # no raw field code
    form = page.split(f'action="/incidents/{incident}/resolve"')[1].split("</form>")[0]
    assert 'aria-invalid="true"' in form
    kept = "Đã thay bộ nguồn &lt;b&gt;24V&lt;/b&gt; &amp; kiểm tra cáp mạng"  # escaped
    assert kept in form
    assert "cáp mạng \ufffdxong</textarea>" in form  # the NUL shown where it was, to remove
    assert "\x00" not in page
    assert 'value="/incidents"' in form  # returns where it came from
    assert '<details class="resolve" open>' in page
    assert incidents_state(db_conn, incident) == "open"

    empty = operator.post(f"{url}/comment", data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 400
    assert ("Nội dung không được để trống." if lang == "vi" else "The text cannot be empty.") in (
        empty.text
    )
    comment_form = empty.text.split(f'action="/incidents/{incident}/comment"')[1]
    assert 'aria-invalid="true"' in comment_form.split("</form>")[0]


def incidents_state(conn: Any, incident: int) -> str:
    row = conn.execute("SELECT state FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert row is not None
    return str(row[0])


def test_screen_and_camera_incidents_show_their_pictures_since_they_opened(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    """A screen incident's screen pictures (newest first, at most six, none
    from before it opened) for board readers; a camera incident's pictures
    of its camera for the Border Guard too, who never sees a screen."""
    words = words_state.seed_everything(db_conn, clock.now)
    before = add_picture(db_conn, words_state.BOARD, clock.now - timedelta(hours=1))
    later = [
        add_picture(db_conn, words_state.BOARD, clock.now + timedelta(minutes=n))
        for n in range(1, 7)
    ]
    screen_incident = f"/incidents/{words.incidents['screen_frozen']}"
    camera_incident = f"/incidents/{words.incidents['camera_covered']}"
    page = new_browser("operator").get(screen_incident).text
    section = page[page.index('id="pictures"') :].split("</section>")[0]
    assert "Ảnh màn hình từ khi sự cố mở" in section
    shown = [int(n) for n in re.findall(r'data-snapshot="(\d+)"', section)]
    assert shown == later[::-1]  # newest first, six of them
    assert f"/api/v1/snapshots/{before}.jpg" not in section
    assert 'loading="lazy"' in section
    assert "chụp định kỳ" in section
    camera = new_browser("operator").get(camera_incident).text
    assert "Ảnh camera từ khi sự cố mở" in camera
    cam_shots = re.findall(r'data-snapshot="(\d+)"', camera)
    assert len(cam_shots) == 1  # the picture of cam-1, not the screen's nor another camera's
    guard = new_browser("guard")
    guard_page = guard.get(camera_incident).text
    assert re.findall(r'data-snapshot="(\d+)"', guard_page) == cam_shots
    assert 'href="/boards/' not in guard_page
    assert guard.get(screen_incident).status_code == 404
    others = new_browser("operator").get(f"/incidents/{words.incidents['disk_full']}").text
    assert 'id="pictures"' not in others


def test_a_lost_boards_incident_names_its_likely_cause_with_evidence(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    words = words_state.seed_everything(db_conn, clock.now)
    url = f"/incidents/{words.incidents['board_lost']}"
    page = new_browser("operator").get(url).text
    box = page[page.index('class="card offline-cause"') :].split("</section>")[0]
    assert "Nguyên nhân có thể" in box
    assert "Nguồn điện: mất điện lưới và UPS đã cạn pin (rất có thể)" in box
    assert "Bằng chứng" in box
    assert "09:40:00 01/12/2026: mất điện lưới, bảng chạy pin UPS (pin 41,5 %, còn chạy được" in box
    assert "Cũng có thể" in box
    assert "Đã loại trừ" in box
    assert "10:01:00 01/12/2026" in box  # the broker's gap, until, in Vietnam time
    assert "Cập nhật lại lúc 10:20 01/12/2026" in box
    assert "offline_cause" not in page  # not a row of the details
    english = new_browser("operator").get(url + "?lang=en").text
    assert (
        "Most likely cause: Power: the mains failed and the UPS ran out (very likely)." in english
    )
    assert "Revised at 2026-12-01 10:20" in english
    assert "Evidence" in english
    # the stale board's incident has no cause yet: no box
    stale = new_browser("operator").get(f"/incidents/{words.incidents['board_stale']}").text
    assert "offline-cause" not in stale
