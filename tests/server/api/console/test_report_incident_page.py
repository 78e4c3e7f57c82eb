"""Reporting an incident from the console (Điều 9.3):

    "... khi phát hiện có sự cố mất an toàn thông tin trên hệ thống thiết bị
    phải kịp thời báo cho Cơ quan quản lý, vận hành để phối hợp với các cơ
    quan, đơn vị có liên quan xử lý theo quy định pháp luật."

The form is reached from the incidents list, a board, a site and the
cameras page; it posts with photos (the phone's camera opens), confirms,
and leads to the new incident, which shows who reported it and the photos."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import audit_actions
from tests.server.api.console.conftest import csrf_of
from tests.server.incidents.images import SECRET, jpeg, png
from tests.support import seed

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"
CLIENT_KEY = re.compile(r'name="client_key" value="([^"]+)"')


def _form(page: str) -> dict[str, str]:
    found = CLIENT_KEY.search(page)
    assert found, "no client key on the form"
    return {"csrf_token": csrf_of(page), "client_key": found.group(1)}


def test_the_form_is_reached_from_the_pages_that_show_incidents(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    operator = new_browser("operator")
    site = seed.site_of_board(db_conn, BOARD)
    assert 'href="/incidents/report"' in operator.get("/incidents").text
    assert f'href="/incidents/report?board={BOARD}"' in operator.get(f"/boards/{BOARD}").text
    assert f'href="/incidents/report?site={site}"' in operator.get(f"/sites/{site}").text
    form = operator.get(f"/incidents/report?board={BOARD}")
    assert form.status_code == 200
    assert f"[board:{BOARD}]" in _picker(form.text)  # the board's label and id
    assert 'accept="image/*" capture="environment"' in form.text
    assert 'enctype="multipart/form-data"' in form.text
    assert "kịp thời báo cho Cơ quan quản lý, vận hành" in form.text
    guard = new_browser("guard")
    assert 'href="/incidents/report"' in guard.get("/cameras").text
    guard_form = guard.get("/incidents/report").text
    categories = guard_form.split('name="category"')[1].split("</select>")[0]
    assert re.findall(r'<option value="(\w+)"', categories) == ["camera", "screen"]
    assert 'name="target"' in guard_form
    # the picker's search: the guard's unit's boards, not another unit's
    found = guard.get("/search/places", params={"q": BOARD, "kind": "board"}).json()["items"]
    assert [item["value"] for item in found] == [f"board:{BOARD}"]
    other = guard.get("/search/places", params={"q": "lc-phong-tho-01"}).json()["items"]
    assert other == []  # not guarded by its unit


def test_a_report_with_photos_is_confirmed_and_shown(new_browser: NewBrowser, db_conn: Any) -> None:
    technician = new_browser("technician")
    page = technician.get(f"/incidents/report?board={BOARD}").text
    fields = {
        **_form(page),
        "target": f"board:{BOARD}",
        "category": "power",
        "severity": "critical",
        "title": "Mất điện tủ bảng tin",
        "description": "Aptomat nhảy, đèn nguồn tắt.",
        "observed_at": "2026-12-06T08:15",
    }
    files = [
        ("photos", ("", b"", "application/octet-stream")),  # the camera input left empty
        ("photos", ("IMG_2041.jpg", jpeg(), "image/jpeg")),
    ]
    sent = technician.post("/incidents/report", data=fields, files=files)
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    matched = re.fullmatch(r"/incidents/(\d+)\?reported=sent", location)
    assert matched is not None, location
    incident_id = int(matched.group(1))
    shown = technician.get(location).text
    assert f"Đã gửi báo cáo: sự cố #{incident_id}" in shown
    assert 'data-reporter="ky.thuat"' in shown
    assert "Aptomat nhảy" in shown
    assert "08:15" in shown  # seen at, Vietnam time
    photo_url = re.search(r'<img src="(/api/v1/incidents/\d+/photos/\d+)"', shown)
    assert photo_url is not None
    image = new_browser("operator").get(photo_url.group(1))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert SECRET not in image.content
    # the same form sent again (a double tap on weak 4G): the same incident
    again = technician.post("/incidents/report", data=fields, files=files[1:])
    assert again.headers["location"] == f"/incidents/{incident_id}?reported=again"
    assert db_conn.execute(
        "SELECT count(*) FROM incidents WHERE rule = 'power_reported'"
    ).fetchone() == (1,)
    assert ("ky.thuat", "incident.report") in audit_actions(db_conn)


def test_photos_are_added_later_from_the_incident_page(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    operator = new_browser("operator")
    page = operator.get("/incidents/report").text
    sent = operator.post(
        "/incidents/report",
        data={**_form(page), "target": f"board:{BOARD}", "category": "screen", "title": "Sọc"},
    )
    incident_page = sent.headers["location"].split("?")[0]
    shown = operator.get(incident_page).text
    assert f'action="{incident_page}/photos"' in shown
    added = operator.post(
        f"{incident_page}/photos",
        data={"csrf_token": csrf_of(shown)},
        files=[("photos", ("screen.png", png(), "image/png"))],
    )
    assert added.status_code == 303
    assert "Đã thêm ảnh" in operator.get(added.headers["location"]).text
    nothing = operator.post(
        f"{incident_page}/photos",
        data={"csrf_token": csrf_of(shown)},
        files=[("photos", ("", b"", "application/octet-stream"))],
    )
    assert nothing.status_code == 400
    assert "Hãy chọn ít nhất một ảnh." in nothing.text


def _picker(page: str, part: str = "value") -> str:
    """The target picker's input tag, or the value it holds."""
    found = re.search(r'<input type="text" name="target"[^>]*>', page)
    assert found, "no target picker"
    if part == "tag":
        return found.group(0)
    value = re.search(r'value="([^"]*)"', found.group(0))
    return value.group(1) if value else ""


def test_bad_reports_are_refused_with_their_reason(new_browser: NewBrowser) -> None:
    guard = new_browser("guard")
    page = guard.get("/incidents/report").text
    base = {
        **_form(page),
        "target": f"board:{BOARD}",
        "category": "camera",
        "title": "Camera",
        "description": "Mô tả dài gõ trên điện thoại",
    }
    nowhere = guard.post("/incidents/report", data={**base, "target": "tivi"})
    assert nowhere.status_code == 400
    assert "Không có điểm lắp đặt hay bảng nào trong phạm vi của bạn" in nowhere.text
    assert 'aria-invalid="true"' in _picker(nowhere.text, "tag")
    assert 'value="tivi"' in _picker(nowhere.text, "tag")
    power = guard.post("/incidents/report", data={**base, "category": "power"})
    assert power.status_code == 403
    elsewhere = guard.post("/incidents/report", data={**base, "target": "board:lc-phong-tho-01"})
    assert elsewhere.status_code == 404
    short = guard.post("/incidents/report", data={**base, "title": "x"})
    assert short.status_code == 400
    assert "title" in short.text
    when = guard.post("/incidents/report", data={**base, "observed_at": "hôm qua"})
    assert when.status_code == 400
    assert "observed_at" in when.text
    # the form comes back with what was typed, the same key, and the reason
    assert 'value="Camera"' in when.text
    assert "Mô tả dài gõ trên điện thoại</textarea>" in when.text
    assert f'name="client_key" value="{base["client_key"]}"' in when.text
    assert f"[board:{BOARD}]" in _picker(when.text)
    assert 'role="alert"' in when.text
    box = when.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert "Mục cần sửa: " in box  # the field by its label, not its code
    assert "observed_at:" not in box
    assert 'name="observed_at" aria-invalid="true" value="hôm qua"' in when.text
    english = guard.post(
        "/incidents/report?lang=en", data={**base, "description": "Cột bị đổ\x00 sau bão"}
    )
    assert english.status_code == 400
    box = english.text.split('class="flash error refusal"')[1].split("</div>")[0]
    assert "Field to correct: " in box
    assert "Contains a NUL character" in box
    assert 'rows="4" aria-invalid="true">Cột bị đổ' in english.text
    pdf = guard.post(
        "/incidents/report",
        data=base,
        files=[("photos", ("anh.jpg", b"%PDF-1.7 not a photo", "image/jpeg"))],
    )
    assert pdf.status_code == 415
    assert "not a JPEG, PNG or WebP" in pdf.text
    no_token = guard.post("/incidents/report", data={**base, "csrf_token": "wrong"})
    assert no_token.status_code == 403
