"""A person reports an incident through the API (Điều 9.3):

    "Cá nhân tham gia thực hiện nhiệm vụ trên Cụm Thông tin điện tử công cộng
    phải tuân thủ theo Điều 7 Luật An toàn thông tin mạng năm 2015; Điều 8
    Luật An ninh mạng năm 2018; khi phát hiện có sự cố mất an toàn thông tin
    trên hệ thống thiết bị phải kịp thời báo cho Cơ quan quản lý, vận hành để
    phối hợp với các cơ quan, đơn vị có liên quan xử lý theo quy định pháp
    luật."

Every role reports within its scope, a Border Guard officer camera and screen
problems at the sites its unit guards; the report is routed like a rule's
incident, audited, idempotent, and carries photos only the incident's readers
get back."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from fleet_server.incidents import lifecycle
from fleet_server.incidents.models import IncidentSpec
from tests.server.incidents.images import SECRET, jpeg, png
from tests.server.notifications.conftest import add_contact, add_route
from tests.support import seed
from tests.support.clock import Clock

BORDER_BOARD = "lc-ma-lu-thang-01"  # a border gate: bql-kkt runs it, bdbp guards it
DISTRICT_BOARD = "lc-phong-tho-01"  # ubnd-phong-tho


def report(**more: Any) -> dict[str, Any]:
    return {
        "board_id": BORDER_BOARD,
        "category": "screen",
        "severity": "major",
        "title": "Màn hình bị sọc / Screen shows stripes",
        "description": "Sọc ngang ở nửa dưới màn hình từ sáng nay.",
        **more,
    }


def test_every_role_reports_within_its_scope(as_: Any, db_conn: Any) -> None:
    """Operator, technician, viewer (reads only, but Điều 9.3 binds every
    individual), the province and the admin report; each reads back who
    reported it, and the audit names the reporter and the address."""
    for n, role in enumerate(("admin", "province", "operator", "technician", "viewer")):
        made = as_(role).post("/api/v1/incidents", json=report(title=f"Sự cố số {n}"))
        assert made.status_code == 201, (role, made.text)
        incident = made.json()
        assert incident["rule"] == "screen_reported"
        assert incident["incident_class"] == "technical"
        assert incident["state"] == "open"
        assert incident["reported_by"] == made.json()["report"]["reporter"]
        assert incident["report"]["category"] == "screen"
        assert incident["report"]["description"].startswith("Sọc ngang")
        got = as_(role).get(f"/api/v1/incidents/{incident['id']}")
        assert got.status_code == 200, role
    rows = db_conn.execute(
        "SELECT actor, host(address), after->>'rule' FROM audit_log"
        " WHERE action = 'incident.report' ORDER BY id"
    ).fetchall()
    assert [r[0] for r in rows] == ["quan.tri", "so.tttt", "van.hanh", "ky.thuat", "xem"]
    assert {(r[1], r[2]) for r in rows} == {("127.0.0.1", "screen_reported")}


def test_the_address_is_shown_to_those_who_act_on_incidents(as_: Any) -> None:
    made = as_("viewer").post("/api/v1/incidents", json=report()).json()
    assert made["report"]["address"] is None
    seen = as_("operator").get(f"/api/v1/incidents/{made['id']}").json()
    assert seen["report"]["address"] == "127.0.0.1"


def test_out_of_scope_targets_answer_like_not_found(as_: Any, db_conn: Any) -> None:
    district_site = seed.site_of_board(db_conn, DISTRICT_BOARD)
    assert (
        as_("operator").post("/api/v1/incidents", json=report(board_id=DISTRICT_BOARD)).status_code
        == 404
    )
    assert (
        as_("operator")
        .post("/api/v1/incidents", json=report(board_id=None, site_id=district_site))
        .status_code
        == 404
    )
    assert as_("district").post("/api/v1/incidents", json=report()).status_code == 404
    unknown = as_("admin").post("/api/v1/incidents", json=report(board_id="lc-khong-co-99"))
    assert unknown.status_code == 404
    assert "lc-khong-co-99" in unknown.json()["detail"]
    assert (
        as_("guard")
        .post("/api/v1/incidents", json=report(board_id=DISTRICT_BOARD, category="camera"))
        .status_code
        == 404
    )


def test_the_border_guard_reports_camera_and_screen_problems_at_its_sites(
    as_: Any, db_conn: Any
) -> None:
    guard = as_("guard")
    camera = guard.post("/api/v1/incidents", json=report(category="camera"))
    assert camera.status_code == 201, camera.text
    assert camera.json()["rule"] == "camera_reported"
    site = seed.site_of_board(db_conn, BORDER_BOARD)
    screen = guard.post(
        "/api/v1/incidents", json=report(board_id=None, site_id=site, title="Màn hình tắt")
    )
    assert screen.status_code == 201, screen.text
    # its own screen report it sees; screen incidents of others it does not
    assert guard.get(f"/api/v1/incidents/{screen.json()['id']}").status_code == 200
    others = as_("operator").post("/api/v1/incidents", json=report(title="Màn hình khác"))
    assert guard.get(f"/api/v1/incidents/{others.json()['id']}").status_code == 404
    listed = {i["id"] for i in guard.get("/api/v1/incidents").json()["items"]}
    assert listed == {camera.json()["id"], screen.json()["id"]}
    power = guard.post("/api/v1/incidents", json=report(category="power"))
    assert power.status_code == 403
    assert "camera or screen" in power.json()["detail"]


def test_a_report_must_name_one_target_and_say_what(as_: Any, clock: Clock) -> None:
    admin = as_("admin")
    both = admin.post("/api/v1/incidents", json=report(site_id=1))
    assert both.status_code == 422
    assert "either a board" in both.json()["detail"]
    neither = admin.post("/api/v1/incidents", json=report(board_id=None))
    assert neither.status_code == 422
    for bad in (
        {"category": "weather"},
        {"severity": "apocalyptic"},
        {"title": "x"},
        {"title": "x" * 201},
        {"title": "   \t  "},
        {"description": "x" * 4001},
        {"observed_at": "2026-12-06T10:00:00"},  # no time zone
        {"client_key": "short"},
    ):
        answer = admin.post("/api/v1/incidents", json=report(**bad))
        assert answer.status_code == 422, bad
    future = (clock.now + timedelta(hours=2)).isoformat()
    ahead = admin.post("/api/v1/incidents", json=report(observed_at=future))
    assert ahead.status_code == 400
    assert ahead.json()["errors"][0]["field"] == "observed_at"
    past = (clock.now - timedelta(hours=2)).isoformat()
    earlier = admin.post("/api/v1/incidents", json=report(observed_at=past))
    assert earlier.status_code == 201
    assert earlier.json()["report"]["observed_at"] is not None
    bad_header = _keyed(admin, "has spaces in it", report())
    assert bad_header.status_code == 422


def test_a_double_submit_opens_one_incident(as_: Any, clock: Clock) -> None:
    """Weak 4G at a border post: the same key again (header or body), or
    the same report again within ten minutes, is the incident already opened."""
    operator = as_("operator")
    first = _keyed(operator, "phone-7f3a9c2e-0001", report())
    again = _keyed(operator, "phone-7f3a9c2e-0001", report())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    body_key = operator.post(
        "/api/v1/incidents", json=report(title="Khác", client_key="form-000000001")
    )
    body_again = operator.post(
        "/api/v1/incidents", json=report(title="Khác", client_key="form-000000001")
    )
    assert body_again.json()["id"] == body_key.json()["id"]
    plain = operator.post("/api/v1/incidents", json=report(title="Không khoá"))
    twice = operator.post("/api/v1/incidents", json=report(title="Không  KHOÁ"))
    assert (plain.status_code, twice.status_code) == (201, 200)
    assert twice.json()["id"] == plain.json()["id"]
    clock.advance(timedelta(minutes=11))
    later = operator.post("/api/v1/incidents", json=report(title="Không khoá"))
    assert later.status_code == 201
    assert later.json()["id"] != plain.json()["id"]
    other_key = _keyed(operator, "phone-7f3a9c2e-0002", report())
    assert other_key.status_code == 201


def _keyed(who: Any, key: str, body: dict[str, Any]) -> Any:
    """A report sent with an Idempotency-Key header."""
    headers = {**who.headers, "Idempotency-Key": key}
    return who.client.post("/api/v1/incidents", json=body, headers=headers)


def _opened_notices(db_conn: Any, incident_id: int) -> set[tuple[str, int, str | None]]:
    return {
        (str(r[0]), int(r[1]), r[2])
        for r in db_conn.execute(
            "SELECT kind, contact_id, group_key FROM notification_outbox WHERE incident_id = %s",
            (incident_id,),
        )
    }


def test_a_report_is_routed_like_a_rule_incident(as_: Any, db_conn: Any, clock: Clock) -> None:
    """The same routes reach it: the Department's security route at once
    (no site grouping), the Border Guard's ``camera*`` route, the site's
    technical route — as for a rule's incident on the same board."""
    security = add_contact(db_conn, "Sở TT&TT", email="attt@example.vn")
    add_route(db_conn, security, incident_class="security")
    cameras = add_contact(db_conn, "Đồn biên phòng", email="bp@example.vn")
    add_route(db_conn, cameras, incident_kinds=["camera*"])
    site = seed.site_of_board(db_conn, BORDER_BOARD)
    duty = add_contact(db_conn, "Tổ kỹ thuật", email="kt@example.vn")
    add_route(db_conn, duty, site_id=site, incident_class="technical")

    hacked = (
        as_("operator")
        .post(
            "/api/v1/incidents",
            json=report(
                category="security", severity="critical", title="Nội dung lạ trên màn hình"
            ),
        )
        .json()
    )
    assert hacked["incident_class"] == "security"
    assert _opened_notices(db_conn, hacked["id"]) == {("incident_opened", security, None)}

    camera = as_("guard").post("/api/v1/incidents", json=report(category="camera")).json()
    by_rule = IncidentSpec(
        dedupe_key=f"board:{BORDER_BOARD}:camera_unreachable:cam1",
        rule="camera_unreachable",
        incident_class="technical",
        severity="major",
        title="camera",
        board_id=BORDER_BOARD,
        site_id=site,
        organisation_id=camera["organisation_id"],
    )
    with db_conn.transaction():
        rule_incident, _ = lifecycle.open_incident(db_conn, by_rule, clock.now, actor="engine")
    reported = _opened_notices(db_conn, camera["id"])
    assert reported == {
        ("incident_opened", cameras, f"site:{site}"),
        ("incident_opened", duty, f"site:{site}"),
    }
    assert reported == _opened_notices(db_conn, rule_incident.id)


# -- photos ---------------------------------------------------------------------------


def _limit(app: FastAPI, **limits: int) -> None:
    ctx = app.state.ctx
    ctx.settings = ctx.settings.model_copy(update=limits)


def test_photos_are_attached_and_served_to_the_incidents_readers_only(
    as_: Any, db_conn: Any
) -> None:
    guard = as_("guard")
    made = guard.post("/api/v1/incidents", json=report(category="camera")).json()
    url = f"/api/v1/incidents/{made['id']}/photos"
    sent = guard.post(
        url,
        files=[
            ("photos", ("IMG_0001.HEIC", jpeg(), "application/octet-stream")),
            ("photos", ("chup.png", png(), "image/png")),
        ],
    )
    assert sent.status_code == 200, sent.text
    photos = sent.json()["attachments"]
    assert [p["content_type"] for p in photos] == ["image/jpeg", "image/png"]
    assert {p["uploaded_by"] for p in photos} == {"bien.phong"}
    first = as_("operator").get(photos[0]["url"])
    assert first.status_code == 200
    assert first.headers["content-type"] == "image/jpeg"
    assert first.headers["x-content-type-options"] == "nosniff"
    assert first.headers["content-disposition"] == (
        f'inline; filename="incident-{made["id"]}-photo-{photos[0]["id"]}.jpg"'
    )
    assert SECRET not in first.content
    assert as_("district").get(photos[0]["url"]).status_code == 404
    assert guard.get(f"{url}/999999").status_code == 404
    # the same photo again is kept once
    again = guard.post(url, files=[("photos", ("a.png", png(), "image/png"))])
    assert len(again.json()["attachments"]) == 2
    audit = db_conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'incident.photo' AND target_id = %s",
        (str(made["id"]),),
    ).fetchone()
    assert audit == (1,)


def test_each_bad_photo_is_refused_with_its_reason(as_: Any, app: FastAPI) -> None:
    _limit(app, incident_photo_max_bytes=2048, incident_photos_max=3)
    operator = as_("operator")
    made = operator.post("/api/v1/incidents", json=report()).json()
    url = f"/api/v1/incidents/{made['id']}/photos"

    def send(*files: bytes) -> Any:
        return operator.post(
            url, files=[("photos", (f"p{n}.jpg", f, "image/jpeg")) for n, f in enumerate(files)]
        )

    empty = send(b"")
    assert (empty.status_code, empty.json()["errors"][0]["field"]) == (400, "photos")
    assert "empty" in empty.json()["detail"]
    large = send(b"\xff\xd8\xff" + bytes(4096))
    assert large.status_code == 413
    assert "at most 2048 bytes" in large.json()["detail"]
    typed = send(b"<html><script>alert(1)</script></html>")
    assert typed.status_code == 415
    assert "not a JPEG, PNG or WebP" in typed.json()["detail"]
    many = send(*(png(colour=(n, n, n)) for n in range(4)))
    assert many.status_code == 400
    assert "at most 3 photos" in many.json()["detail"]
    assert operator.post(url).status_code == 422  # no file at all
    assert send(png(colour=(1, 1, 1)), png(colour=(2, 2, 2))).status_code == 200
    full = send(png(colour=(3, 3, 3)), png(colour=(4, 4, 4)))
    assert full.status_code == 400
    assert "at most 3 photos (2 already, 2 sent)" in full.json()["detail"]
    assert len(operator.get(f"/api/v1/incidents/{made['id']}").json()["attachments"]) == 2


def test_photos_need_the_report_right_and_an_unresolved_incident(as_: Any) -> None:
    made = as_("operator").post("/api/v1/incidents", json=report()).json()
    url = f"/api/v1/incidents/{made['id']}/photos"
    as_("operator").post(f"/api/v1/incidents/{made['id']}/resolve", json={"note": "đã sửa"})
    late = as_("operator").post(url, files=[("photos", ("a.png", png(), "image/png"))])
    assert late.status_code == 409
    assert "resolved" in late.json()["detail"]
    assert (
        as_("district").post(url, files=[("photos", ("a.png", png(), "image/png"))]).status_code
        == 404
    )
