"""Accounts through the API (admins only): creation with a checked Argon2
password, changes, disabling (tokens revoked), password reset and unlock."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import ACCOUNTS, PASSWORD, audit_actions
from tests.support.clock import Clock

NEW_PASSWORD = "Cua-khau-Ma-Lu-Thang-9"


def user_id(conn: Any, username: str) -> int:
    row = conn.execute("SELECT id FROM users WHERE username = %s", (username,)).fetchone()
    assert row is not None
    return int(row[0])


def changes(conn: Any) -> list[str]:
    return [a for _, a in audit_actions(conn) if a not in ("login", "login_failed")]


def audit_row(conn: Any, action: str) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT actor, target_id, before, after, detail, coalesce(before::text, '')"
        " || coalesce(after::text, '') FROM audit_log WHERE action = %s ORDER BY id DESC LIMIT 1",
        (action,),
    ).fetchone()
    assert row is not None
    return tuple(row)


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_admin_creates_a_personal_account(as_: Any, client: TestClient, db_conn: Any) -> None:
    sites = [
        int(r[0])
        for r in db_conn.execute(
            "SELECT id FROM sites WHERE code IN ('mu-ca', 'sin-ho') ORDER BY id"
        )
    ]
    bdbp = db_conn.execute("SELECT id FROM organisations WHERE code = 'bdbp'").fetchone()[0]
    body = {
        "username": " Don.Bien.Phong ",
        "full_name": "Đồn Biên phòng Mù Cả",
        "email": "don.muca@bdbp.vn",
        "role": "border_guard",
        "organisation_id": bdbp,
        "password": NEW_PASSWORD,
        "language": "en",
        "site_ids": [sites[1], sites[0], sites[0]],
    }
    created = as_("admin").post("/api/v1/users", json=body)
    assert created.status_code == 201, created.text
    account = created.json()
    assert account["username"] == "don.bien.phong"
    assert account["site_ids"] == sites
    assert (account["language"], account["active"], account["locked"]) == ("en", True, False)
    assert NEW_PASSWORD not in created.text
    assert "password_hash" not in account
    assert "argon2" not in created.text
    stored = db_conn.execute(
        "SELECT password_hash FROM users WHERE id = %s", (account["id"],)
    ).fetchone()[0]
    assert stored.startswith("$argon2id$")
    actor, target, before, after, _, text = audit_row(db_conn, "user.create")
    assert (actor, target, before) == ("quan.tri", str(account["id"]), None)
    assert after["role"] == "border_guard"
    assert "argon2" not in text
    assert NEW_PASSWORD not in text
    # the holder logs in and has exactly that scope
    token = login(client, "don.bien.phong", NEW_PASSWORD).json()["access_token"]
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["role"], me["site_ids"], me["language"]) == ("border_guard", sites, "en")

    def refused(status: int, **changes: Any) -> str:
        response = as_("admin").post("/api/v1/users", json={**body, **changes})
        assert response.status_code == status, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        return str(response.json()["detail"])

    assert refused(409) == "a user named 'don.bien.phong' already exists"
    assert refused(400, username="ngan.qua", password="ngan-qua") == (
        "password: a password needs at least 12 characters"
    )
    assert "must not contain the user name" in refused(
        400, username="ky.thuat.2", password="ky.thuat.2-mat-khau"
    )
    assert refused(400, username="site.less", site_ids=[999_999]) == (
        "site_ids: there is no site 999999"
    )
    assert "organisation_id" in refused(400, username="org.less", organisation_id=999_999)
    assert refused(422, username="x", role="viewer").startswith("username")
    assert refused(422, username="bad.role", role="superuser").startswith("role")
    assert "e-mail" in refused(422, username="bad.mail", email="no-at-sign")
    for key in ACCOUNTS:
        if key != "admin":
            assert as_(key).post("/api/v1/users", json=body).status_code == 403, key
            assert as_(key).get("/api/v1/users").status_code == 403, key
            assert as_(key).get(f"/api/v1/users/{account['id']}").status_code == 403, key
    assert changes(db_conn) == ["user.create"]


def test_listing_accounts(as_: Any, db_conn: Any) -> None:
    def names(**params: Any) -> list[str]:
        response = as_("admin").get("/api/v1/users", params=params)
        assert response.status_code == 200, response.text
        return [u["username"] for u in response.json()["items"]]

    assert names() == sorted(a.username for a in ACCOUNTS.values())
    assert names(role="operator") == ["phong.tho", "van.hanh"]
    bql = db_conn.execute("SELECT id FROM organisations WHERE code = 'bql-kkt'").fetchone()[0]
    assert names(organisation_id=bql) == ["ky.thuat", "van.hanh", "xem"]
    assert names(q="THUAT") == ["ky.thuat"]
    db_conn.execute("UPDATE users SET active = false WHERE username = 'xem'")
    assert names(active="false") == ["xem"]
    assert names(sort="-id")[0] == "xem"
    page = as_("admin").get("/api/v1/users", params={"limit": 3, "offset": 3}).json()
    assert (page["total"], len(page["items"])) == (7, 3)
    assert all("password_hash" not in u for u in page["items"])
    one = as_("admin").get(f"/api/v1/users/{user_id(db_conn, 'ky.thuat')}").json()
    assert one["team"] == "to-ky-thuat-bien-gioi"
    assert as_("admin").get("/api/v1/users/999999").status_code == 404
    assert as_("admin").get("/api/v1/users", params={"sort": "password_hash"}).status_code == 400
    assert as_("admin").get("/api/v1/users", params={"role": "root"}).status_code == 422


def test_changing_and_disabling_an_account(as_: Any, client: TestClient, db_conn: Any) -> None:
    tech = user_id(db_conn, "ky.thuat")
    url = f"/api/v1/users/{tech}"
    site = db_conn.execute("SELECT id FROM sites WHERE code = 'sin-ho'").fetchone()[0]
    changed = as_("admin").patch(
        url, json={"team": "to-ky-thuat-sin-ho", "site_ids": [site], "email": "kt@laichau.vn"}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["team"], changed.json()["site_ids"]) == ("to-ky-thuat-sin-ho", [site])
    _, target, before, after, detail, _ = audit_row(db_conn, "user.update")
    assert target == str(tech)
    assert (before["team"], after["team"]) == ("to-ky-thuat-bien-gioi", "to-ky-thuat-sin-ho")
    assert (before["site_ids"], after["site_ids"]) == ([], [site])
    assert detail is None
    cleared = as_("admin").patch(url, json={"team": None, "email": None})
    assert (cleared.json()["team"], cleared.json()["email"]) == (None, None)
    assert as_("admin").patch(url, json={"role": None}).status_code == 400
    assert as_("admin").patch(url, json={"site_ids": [999_999]}).status_code == 400
    assert as_("operator").patch(url, json={"full_name": "x"}).status_code == 403

    # disabling: every token of the account stops working at once
    technician = as_("technician")
    assert technician.get("/api/v1/auth/me").status_code == 200
    disabled = as_("admin").patch(url, json={"active": False})
    assert disabled.json()["active"] is False
    assert audit_row(db_conn, "user.update")[4] == "disabled; tokens and sessions revoked"
    assert technician.get("/api/v1/auth/me").status_code == 401
    live = db_conn.execute(
        "SELECT count(*) FROM api_tokens WHERE user_id = %s AND revoked_at IS NULL", (tech,)
    ).fetchone()[0]
    assert live == 0
    assert login(client, "ky.thuat", PASSWORD).status_code == 401
    as_("admin").patch(url, json={"active": True})
    assert login(client, "ky.thuat", PASSWORD).status_code == 200

    # an admin can neither lock themselves out nor demote themselves
    me = f"/api/v1/users/{user_id(db_conn, 'quan.tri')}"
    self_disable = as_("admin").patch(me, json={"active": False})
    assert self_disable.status_code == 409
    assert "cannot disable your own account" in self_disable.json()["detail"]
    self_demote = as_("admin").patch(me, json={"role": "viewer"})
    assert self_demote.status_code == 409
    assert "own admin role" in self_demote.json()["detail"]
    assert as_("admin").patch(me, json={"full_name": "Quản trị viên"}).status_code == 200
    # promoting another account takes effect on its next request
    promoted = as_("admin").patch(
        f"/api/v1/users/{user_id(db_conn, 'xem')}", json={"role": "operator"}
    )
    assert promoted.json()["role"] == "operator"
    assert as_("viewer").get("/api/v1/auth/me").json()["role"] == "operator"
    assert changes(db_conn) == ["user.update"] * 6


def test_password_reset_and_unlock(
    as_: Any, client: TestClient, db_conn: Any, clock: Clock
) -> None:
    operator = user_id(db_conn, "van.hanh")
    old_session = as_("operator")
    assert old_session.get("/api/v1/auth/me").status_code == 200
    url = f"/api/v1/users/{operator}/password"
    weak = as_("admin").post(url, json={"new_password": "van.hanh-2026-abc"})
    assert weak.status_code == 400
    assert weak.json()["type"].endswith("/weak-password")
    assert as_("operator").post(url, json={"new_password": NEW_PASSWORD}).status_code == 403
    assert as_("admin").post(url, json={"new_password": NEW_PASSWORD}).status_code == 204
    assert old_session.get("/api/v1/auth/me").status_code == 401
    assert login(client, "van.hanh", PASSWORD).status_code == 401
    assert login(client, "van.hanh", NEW_PASSWORD).status_code == 200
    actor, target, _, _, detail, text = audit_row(db_conn, "user.password_reset")
    assert (actor, target) == ("quan.tri", str(operator))
    assert "revoked" in detail
    assert NEW_PASSWORD not in text

    # locked out after failed logins; an admin lifts it
    for _ in range(5):
        login(client, "xem", "sai-mat-khau-roi")
    assert login(client, "xem", PASSWORD).status_code == 429
    viewer = user_id(db_conn, "xem")
    shown = as_("admin").get(f"/api/v1/users/{viewer}").json()
    assert shown["locked"] is True
    assert shown["locked_until"] is not None
    assert as_("district").post(f"/api/v1/users/{viewer}/unlock").status_code == 403
    unlocked = as_("admin").post(f"/api/v1/users/{viewer}/unlock")
    assert unlocked.status_code == 200
    assert (unlocked.json()["locked"], unlocked.json()["failed_logins"]) == (False, 0)
    _, _, before, after, _, _ = audit_row(db_conn, "user.unlock")
    assert before["locked_until"] is not None
    assert after == {"failed_logins": 0, "locked_until": None}
    assert login(client, "xem", PASSWORD).status_code == 200
    assert as_("admin").post("/api/v1/users/999999/unlock").status_code == 404
    assert changes(db_conn) == ["user.password_reset", "user.unlock"]
