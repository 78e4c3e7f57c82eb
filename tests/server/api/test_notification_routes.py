"""Notification contacts and routes through the API: admins manage them,
operators and viewers read their organisation's, webhook secrets never leave."""

from __future__ import annotations

from typing import Any

from tests.server.api.conftest import audit_actions

SECRET = "khoa-bi-mat-webhook-0123456789"


def org_id(conn: Any, code: str) -> int:
    row = conn.execute("SELECT id FROM organisations WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def site_id(conn: Any, code: str) -> int:
    row = conn.execute("SELECT id FROM sites WHERE code = %s", (code,)).fetchone()
    assert row is not None
    return int(row[0])


def changes(conn: Any) -> list[str]:
    return [a for _, a in audit_actions(conn) if a != "login"]


def audit_row(conn: Any, action: str) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT actor, target_id, before, after, detail, before::text || after::text"
        " FROM audit_log WHERE action = %s ORDER BY id DESC LIMIT 1",
        (action,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def contact(as_: Any, key: str = "admin", **body: Any) -> Any:
    body.setdefault("name", "Trực ban BQL KKT")
    return as_(key).post("/api/v1/contacts", json=body)


def test_contacts_validation_and_the_write_only_secret(as_: Any, db_conn: Any) -> None:
    bql = org_id(db_conn, "bql-kkt")
    created = contact(
        as_,
        organisation_id=bql,
        kind="duty_desk",
        email="trucban@bqlkkt.laichau.gov.vn",
        webhook_url="https://hooks.example.vn/laichau",
        webhook_secret=SECRET,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["has_webhook_secret"] is True
    assert "webhook_secret" not in body
    assert SECRET not in created.text
    assert SECRET not in as_("operator").get(f"/api/v1/contacts/{body['id']}").text
    actor, target, before, after, detail, _ = audit_row(db_conn, "contact.create")
    assert (actor, target, before, detail) == (
        "quan.tri",
        str(body["id"]),
        None,
        "webhook secret set",
    )
    assert after["email"] == "trucban@bqlkkt.laichau.gov.vn"
    assert SECRET not in str(after)

    def problem(**fields: Any) -> str:
        response = contact(as_, **fields)
        assert response.status_code == 422, response.text
        return str(response.json()["detail"])

    assert "not an e-mail address" in problem(email="not-an-address")
    assert "http:// or https://" in problem(
        webhook_url="ftp://files.example.vn/x", webhook_secret=SECRET
    )
    assert "has no host" in problem(webhook_url="https:///path", webhook_secret=SECRET)
    assert "not a valid URL" in problem(
        webhook_url="https://example.vn:99999/", webhook_secret=SECRET
    )
    assert "webhook_secret is required" in problem(webhook_url="https://hooks.example.vn/")
    assert "an email, a webhook_url, a phone or a telegram_chat_id" in problem()
    assert "webhook_secret" in problem(email="a@b.vn", webhook_secret="short")
    assert "organisation_id" in contact(as_, email="a@b.vn", organisation_id=0).json()["detail"]
    unknown_org = contact(as_, email="a@b.vn", organisation_id=999_999)
    assert unknown_org.status_code == 400
    assert unknown_org.json()["detail"] == "organisation_id: there is no organisation 999999"
    for key in ("operator", "viewer", "technician", "guard", "province"):
        assert contact(as_, key, email="a@b.vn").status_code == 403, key
    assert changes(db_conn) == ["contact.create"]


def test_who_reads_which_contacts_and_routes(as_: Any, db_conn: Any) -> None:
    bql, district = org_id(db_conn, "bql-kkt"), org_id(db_conn, "ubnd-phong-tho")
    ours = contact(as_, organisation_id=bql, email="kkt@laichau.vn").json()["id"]
    theirs = contact(
        as_, name="UBND Phong Thổ", organisation_id=district, email="pt@laichau.vn"
    ).json()["id"]
    nobody = contact(as_, name="Nhà thầu", email="thau@example.vn").json()["id"]
    routes = {}
    for name, body in (
        ("to_ours", {"contact_id": ours}),
        ("to_theirs", {"contact_id": theirs}),
        ("about_ours", {"contact_id": nobody, "organisation_id": bql}),
        ("at_our_site", {"contact_id": nobody, "site_id": site_id(db_conn, "mu-ca")}),
        ("other", {"contact_id": nobody, "incident_class": "security"}),
    ):
        response = as_("admin").post(
            "/api/v1/notification-routes", json={**body, "channel": "email"}
        )
        assert response.status_code == 201, response.text
        routes[name] = response.json()["id"]

    def listed(key: str, url: str) -> set[int]:
        response = as_(key).get(url)
        assert response.status_code == 200, (key, response.text)
        return {item["id"] for item in response.json()["items"]}

    assert listed("operator", "/api/v1/contacts") == {ours}
    assert listed("viewer", "/api/v1/contacts") == {ours}
    assert listed("district", "/api/v1/contacts") == {theirs}
    assert listed("admin", "/api/v1/contacts") == {ours, theirs, nobody}
    assert listed("province", "/api/v1/contacts") == {ours, theirs, nobody}
    assert listed("operator", "/api/v1/notification-routes") == {
        routes["to_ours"],
        routes["about_ours"],
        routes["at_our_site"],
    }
    assert listed("district", "/api/v1/notification-routes") == {routes["to_theirs"]}
    assert len(listed("admin", "/api/v1/notification-routes")) == 5
    for key in ("technician", "guard"):
        assert as_(key).get("/api/v1/contacts").status_code == 403
        assert as_(key).get("/api/v1/notification-routes").status_code == 403
    assert as_("operator").get(f"/api/v1/contacts/{theirs}").status_code == 404
    assert as_("operator").get(f"/api/v1/notification-routes/{routes['other']}").status_code == 404
    assert as_("district").get(f"/api/v1/contacts/{ours}").status_code == 404

    def ids(url: str, **params: Any) -> list[int]:
        response = as_("admin").get(url, params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    assert ids("/api/v1/contacts", q="laichau", sort="-name") == [theirs, ours]
    assert ids("/api/v1/contacts", organisation_id=district) == [theirs]
    assert ids("/api/v1/notification-routes", contact_id=nobody, sort="-id") == [
        routes["other"],
        routes["at_our_site"],
        routes["about_ours"],
    ]
    assert ids("/api/v1/notification-routes", incident_class="security") == [routes["other"]]
    page = as_("admin").get("/api/v1/notification-routes", params={"limit": 2, "offset": 4})
    assert (page.json()["total"], len(page.json()["items"])) == (5, 1)
    assert as_("admin").get("/api/v1/contacts", params={"sort": "email"}).status_code == 400
    assert (
        as_("admin").get("/api/v1/notification-routes", params={"channel": "fax"}).status_code
        == 422
    )


def test_changing_and_deleting_contacts(as_: Any, db_conn: Any) -> None:
    made = contact(as_, email="cu@laichau.vn").json()
    url = f"/api/v1/contacts/{made['id']}"
    assert as_("operator").patch(url, json={"name": "x"}).status_code == 403
    no_secret = as_("admin").patch(url, json={"webhook_url": "https://hooks.example.vn/"})
    assert no_secret.status_code == 400
    assert no_secret.json()["detail"].startswith("webhook_secret: required")
    hooked = as_("admin").patch(
        url,
        json={
            "webhook_url": "https://hooks.example.vn/",
            "webhook_secret": SECRET,
            "language": "en",
        },
    )
    assert hooked.status_code == 200, hooked.text
    assert (hooked.json()["has_webhook_secret"], hooked.json()["language"]) == (True, "en")
    _, _, before, after, detail, text = audit_row(db_conn, "contact.update")
    assert (before["has_webhook_secret"], after["has_webhook_secret"]) == (False, True)
    assert detail == "webhook secret changed"
    assert SECRET not in text
    assert as_("admin").patch(url, json={"email": None, "webhook_url": None}).status_code == 400
    assert as_("admin").patch(url, json={"name": None}).status_code == 400
    unhooked = as_("admin").patch(url, json={"webhook_url": None})
    assert unhooked.json()["has_webhook_secret"] is False  # the secret goes with the URL
    route = as_("admin").post(
        "/api/v1/notification-routes", json={"contact_id": made["id"], "channel": "email"}
    )
    assert route.status_code == 201
    # a contact that was sent something stays for the record
    db_conn.execute(
        """INSERT INTO notification_outbox (created_at, idempotency_key, kind, channel,
               contact_id, language, subject, body_text, payload, available_at,
               next_attempt_at, state, sent_at)
           VALUES (now(), 'k1', 'incident_opened', 'email', %s, 'vi', 's', 'b', '{}', now(),
                   now(), 'sent', now())""",
        (made["id"],),
    )
    kept = as_("admin").delete(url)
    assert kept.status_code == 409
    assert "set active to false instead" in kept.json()["detail"]
    db_conn.execute("DELETE FROM notification_outbox")
    assert as_("viewer").delete(url).status_code == 403
    assert as_("admin").delete(url).status_code == 204
    assert as_("admin").get(url).status_code == 404
    assert as_("admin").get(f"/api/v1/notification-routes/{route.json()['id']}").status_code == 404
    _, _, before, after, detail, _ = audit_row(db_conn, "contact.delete")
    assert (before["id"], after) == (made["id"], None)
    assert detail == f"with routes [{route.json()['id']}]"
    assert changes(db_conn) == [
        "contact.create",
        "contact.update",
        "contact.update",
        "route.create",
        "contact.delete",
    ]


def test_routes_create_change_delete(as_: Any, db_conn: Any) -> None:
    mail = contact(as_, email="kkt@laichau.vn").json()["id"]
    hook = contact(
        as_, name="Hook", webhook_url="http://10.0.0.5/hook", webhook_secret=SECRET
    ).json()["id"]

    def create(**body: Any) -> Any:
        return as_("admin").post("/api/v1/notification-routes", json=body)

    made = create(
        contact_id=hook,
        channel="webhook",
        incident_kinds=["camera*", "board_lost"],
        min_severity="major",
        escalation_level=1,
        note="Đồn biên phòng",
    )
    assert made.status_code == 201, made.text
    route = made.json()
    assert route["contact_name"] == "Hook"
    assert route["incident_kinds"] == ["camera*", "board_lost"]
    assert create(contact_id=mail, channel="webhook").json()["detail"] == (
        f"channel: contact {mail} has no webhook URL"
    )
    assert create(contact_id=hook, channel="email").status_code == 400
    assert create(contact_id=999_999, channel="email").status_code == 400
    assert create(contact_id=mail, channel="email", site_id=999_999).status_code == 400
    assert create(contact_id=mail, channel="email", incident_kinds=[]).status_code == 422
    assert (
        create(contact_id=mail, channel="email", incident_kinds=["DROP TABLE"]).status_code == 422
    )
    assert create(contact_id=mail, channel="email", escalation_level=2).status_code == 422
    assert (
        as_("operator")
        .post("/api/v1/notification-routes", json={"contact_id": mail, "channel": "email"})
        .status_code
        == 403
    )

    url = f"/api/v1/notification-routes/{route['id']}"
    changed = as_("admin").patch(
        url, json={"contact_id": mail, "channel": "email", "incident_kinds": None, "active": False}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["channel"], changed.json()["incident_kinds"]) == ("email", None)
    assert changed.json()["active"] is False
    _, target, before, after, _, _ = audit_row(db_conn, "route.update")
    assert target == str(route["id"])
    assert (before["channel"], after["channel"]) == ("webhook", "email")
    assert as_("admin").patch(url, json={"contact_id": hook}).status_code == 400
    assert as_("admin").patch(url, json={"channel": None}).status_code == 400
    assert as_("operator").delete(url).status_code == 403
    assert as_("admin").delete(url).status_code == 204
    assert as_("admin").delete(url).status_code == 404
    _, _, before, after, _, _ = audit_row(db_conn, "route.delete")
    assert (before["id"], after) == (route["id"], None)
    assert changes(db_conn) == [
        "contact.create",
        "contact.create",
        "route.create",
        "route.update",
        "route.delete",
    ]
