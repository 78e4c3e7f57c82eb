"""Incidents through the API: scope per role, the actions, their audit rows
and the incident timeline."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fleet_server.incidents import storage as incidents_db
from fleet_server.incidents.models import IncidentSpec
from tests.server.api.conftest import open_test_incident
from tests.server.notifications.conftest import add_contact, add_route
from tests.support.clock import Clock


def setup_incidents(db_conn: Any, clock: Clock) -> dict[str, int]:
    at = clock.now - timedelta(minutes=5)
    return {
        "border": open_test_incident(db_conn, "lc-ma-lu-thang-01", "board_offline", now=at),
        "camera": open_test_incident(
            db_conn, "lc-ma-lu-thang-01", "camera_unreachable", now=at, severity="minor"
        ),
        "district": open_test_incident(
            db_conn,
            "lc-phong-tho-01",
            "content_unapproved",
            incident_class="security",
            severity="critical",
        ),
        "district_camera": open_test_incident(
            db_conn, "lc-phong-tho-01", "camera_unreachable", now=at, severity="minor"
        ),
    }


def listed(client: Any, **params: Any) -> set[int]:
    response = client.get("/api/v1/incidents", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return {i["id"] for i in response.json()["items"]}


def test_each_role_sees_its_incidents(as_: Any, db_conn: Any, clock: Clock) -> None:
    made = setup_incidents(db_conn, clock)
    assert listed(as_("admin")) == set(made.values())
    assert listed(as_("province")) == set(made.values())
    assert listed(as_("operator")) == {made["border"], made["camera"]}
    assert listed(as_("viewer")) == {made["border"], made["camera"]}
    assert listed(as_("technician")) == {made["border"], made["camera"]}
    assert listed(as_("district")) == {made["district"], made["district_camera"]}
    # Border Guard: camera incidents at the border sites, nothing else.
    assert listed(as_("guard")) == {made["camera"]}
    assert as_("guard").get(f"/api/v1/incidents/{made['border']}").status_code == 404
    assert as_("guard").get(f"/api/v1/incidents/{made['camera']}").status_code == 200
    assert as_("district").get(f"/api/v1/incidents/{made['border']}").status_code == 404


def test_filters_and_default_order(as_: Any, db_conn: Any, clock: Clock) -> None:
    made = setup_incidents(db_conn, clock)
    admin = as_("admin")
    page = admin.get("/api/v1/incidents").json()
    assert page["items"][0]["id"] == made["district"]  # critical first
    assert listed(admin, **{"class": "security"}) == {made["district"]}
    assert listed(admin, severity=["minor"]) == {made["camera"], made["district_camera"]}
    assert listed(admin, board_id="lc-phong-tho-01") == {made["district"], made["district_camera"]}
    assert listed(admin, rule="camera_unreachable") == {made["camera"], made["district_camera"]}
    assert listed(admin, state="resolved") == set()
    by_id = admin.get("/api/v1/incidents", params={"sort": "id"}).json()
    assert [i["id"] for i in by_id["items"]] == sorted(made.values())
    by_severity = admin.get("/api/v1/incidents", params={"sort": "severity"}).json()
    assert by_severity["items"][0]["severity"] == "minor"
    assert admin.get("/api/v1/incidents", params={"state": "closed"}).status_code == 422


def test_acknowledge_resolve_comment_and_audit(as_: Any, db_conn: Any, clock: Clock) -> None:
    made = setup_incidents(db_conn, clock)
    incident = made["border"]
    operator = as_("operator")
    acked = operator.post(f"/api/v1/incidents/{incident}/acknowledge", json={"note": "đang xử lý"})
    assert acked.status_code == 200
    assert acked.json()["state"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == "van.hanh"
    again = operator.post(f"/api/v1/incidents/{incident}/acknowledge")
    assert again.status_code == 409
    assert "acknowledged" in again.json()["detail"]
    no_note = operator.post(f"/api/v1/incidents/{incident}/resolve", json={})
    assert no_note.status_code == 422
    assert "note" in no_note.json()["detail"]
    commented = as_("technician").post(
        f"/api/v1/incidents/{incident}/comments", json={"text": "thay bộ nguồn"}
    )
    assert commented.status_code == 200
    clock.advance(600)
    resolved = operator.post(
        f"/api/v1/incidents/{incident}/resolve", json={"note": "đã thay bộ nguồn"}
    )
    assert resolved.status_code == 200
    body = resolved.json()
    assert body["state"] == "resolved"
    assert body["resolution_note"] == "đã thay bộ nguồn"
    assert [(e["kind"], e["actor"]) for e in body["events"]] == [
        ("opened", "engine:board_offline"),
        ("acknowledged", "van.hanh"),
        ("comment", "ky.thuat"),
        ("resolved", "van.hanh"),
    ]
    assert (
        operator.post(f"/api/v1/incidents/{incident}/resolve", json={"note": "x"}).status_code
        == 409
    )
    rows = db_conn.execute(
        "SELECT actor, action, target_id, before->>'state', after->>'state', host(address)"
        " FROM audit_log WHERE action LIKE 'incident.%' ORDER BY id"
    ).fetchall()
    assert rows == [
        ("van.hanh", "incident.acknowledge", str(incident), "open", "acknowledged", "127.0.0.1"),
        ("ky.thuat", "incident.comment", str(incident), None, None, "127.0.0.1"),
        ("van.hanh", "incident.resolve", str(incident), "acknowledged", "resolved", "127.0.0.1"),
    ]


def test_forbidden_and_out_of_scope_actions(as_: Any, db_conn: Any, clock: Clock) -> None:
    made = setup_incidents(db_conn, clock)
    border = made["border"]
    for who in ("viewer", "technician", "guard", "province"):
        response = as_(who).post(f"/api/v1/incidents/{border}/acknowledge")
        assert response.status_code == 403, who
    assert (
        as_("viewer").post(f"/api/v1/incidents/{border}/comments", json={"text": "x"}).status_code
        == 403
    )
    # another organisation's incident: 404, and nothing changes
    assert as_("district").post(f"/api/v1/incidents/{border}/acknowledge").status_code == 404
    state = db_conn.execute("SELECT state FROM incidents WHERE id = %s", (border,)).fetchone()
    assert state == ("open",)
    assert db_conn.execute(
        "SELECT count(*) FROM audit_log WHERE action LIKE 'incident.%'"
    ).fetchone() == (0,)
    # the Border Guard may comment on the camera incident it sees
    assert (
        as_("guard")
        .post(f"/api/v1/incidents/{made['camera']}/comments", json={"text": "đã kiểm tra"})
        .status_code
        == 200
    )


def test_resolving_cancels_pending_notices(as_: Any, db_conn: Any, clock: Clock) -> None:
    made = setup_incidents(db_conn, clock)
    incident = made["border"]
    contact = db_conn.execute(
        "INSERT INTO contacts (name, email) VALUES ('Trực ban', 'a@example.invalid') RETURNING id"
    ).fetchone()[0]
    db_conn.execute(
        "INSERT INTO notification_outbox (created_at, kind, incident_id, contact_id, channel,"
        " language, subject, body_text, payload, idempotency_key, available_at,"
        " next_attempt_at) VALUES (now(), 'incident_reminder', %s, %s, 'email', 'vi', 's',"
        " 'b', '{}', 'k1', now(), now())",
        (incident, contact),
    )
    as_("operator").post(f"/api/v1/incidents/{incident}/resolve", json={"note": "xong"})
    state = db_conn.execute(
        "SELECT state FROM notification_outbox WHERE incident_id = %s", (incident,)
    ).fetchone()
    assert state == ("cancelled",)


def test_resolving_a_site_incident_by_hand_releases_its_boards(
    as_: Any, db_conn: Any, clock: Clock
) -> None:
    """As when the engine sees the site back: the boards still down become
    incidents of their own again (detached, with a note on their timeline),
    and people hear of them. (Resolving by hand used to leave them attached
    to a resolved site incident, unannounced.)"""
    duty = add_contact(db_conn, "Tổ kỹ thuật", email="kythuat@example.vn")
    add_route(db_conn, duty, incident_class="technical")
    site_id, organisation_id = db_conn.execute(
        "SELECT b.site_id, s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = 'lc-ma-lu-thang-01'"
    ).fetchone()
    boards = [
        r[0]
        for r in db_conn.execute(
            "SELECT id FROM boards WHERE site_id = %s ORDER BY id LIMIT 2", (site_id,)
        ).fetchall()
    ]
    assert len(boards) == 2
    at = clock.now - timedelta(minutes=5)
    with db_conn.transaction():
        site, _ = incidents_db.open_incident(
            db_conn,
            IncidentSpec(
                dedupe_key=f"site:{site_id}:site_outage",
                rule="site_outage",
                incident_class="technical",
                severity="critical",
                title="Toàn điểm mất liên lạc / Whole site down",
                site_id=site_id,
                organisation_id=organisation_id,
            ),
            at,
            actor="engine:site_outage",
        )
    children = [open_test_incident(db_conn, b, "board_lost", now=at) for b in boards]
    with db_conn.transaction():
        for child in children:
            incidents_db.attach(db_conn, child, site.id, at, actor="engine")
    resolved = as_("operator").post(
        f"/api/v1/incidents/{site.id}/resolve", json={"note": "điện lưới đã có lại"}
    )
    assert resolved.status_code == 200, resolved.text
    for child in children:
        row = db_conn.execute(
            "SELECT parent_id, state FROM incidents WHERE id = %s", (child,)
        ).fetchone()
        assert row == (None, "open")
        assert ("comment", "van.hanh", "the site is back; this board is not") in (
            incidents_db.events(db_conn, child)
        )
        notices = db_conn.execute(
            "SELECT kind, state FROM notification_outbox WHERE incident_id = %s", (child,)
        ).fetchall()
        assert notices == [("incident_opened", "pending")]
