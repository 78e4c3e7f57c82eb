"""Logins, tokens, lock-out and the audit rows they leave."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import ACCOUNTS, PASSWORD, audit_actions
from tests.support.clock import Clock


def login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_login_gives_a_bearer_token_and_audits_it(client: TestClient, db_conn: Any) -> None:
    response = login(client, "van.hanh", PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    assert me.json()["role"] == "operator"
    row = db_conn.execute(
        "SELECT actor, action, host(address) FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row == ("van.hanh", "login", "127.0.0.1")


def test_wrong_password_is_401_problem_and_audited(client: TestClient, db_conn: Any) -> None:
    response = login(client, "van.hanh", "not-the-password")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["detail"] == "invalid username or password"
    unknown = login(client, "nobody.here", "whatever-password")
    assert unknown.status_code == 401
    assert unknown.json()["detail"] == "invalid username or password"
    assert audit_actions(db_conn) == [("van.hanh", "login_failed"), ("nobody.here", "login_failed")]


def test_lockout_after_repeated_failures(client: TestClient, clock: Clock, db_conn: Any) -> None:
    for _ in range(5):
        assert login(client, "van.hanh", "wrong-password-1").status_code == 401
    locked = login(client, "van.hanh", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "too many failed logins" in locked.json()["detail"]
    clock.advance(15 * 60 + 1)
    assert login(client, "van.hanh", PASSWORD).status_code == 200
    details = [
        r[0]
        for r in db_conn.execute(
            "SELECT detail FROM audit_log WHERE action = 'login_failed' ORDER BY id"
        )
    ]
    assert details[-2:] == [
        "wrong password",
        "locked: too many failed logins for this user name from this address",
    ]


def test_rate_limit_per_address(client: TestClient, clock: Clock) -> None:
    # Many usernames from one address: the account lock-out never triggers,
    # the address limit does.
    for i in range(20):
        assert login(client, f"guess{i:02d}", "wrong-password-1").status_code == 401
    limited = login(client, ACCOUNTS["viewer"].username, PASSWORD)
    assert limited.status_code == 429
    assert "address" in limited.json()["detail"]
    clock.advance(15 * 60 + 1)
    assert login(client, ACCOUNTS["viewer"].username, PASSWORD).status_code == 200


def test_the_address_limit_counts_by_the_apps_clock(client: TestClient, clock: Clock) -> None:
    """The failures are counted against the clock that judges them: with the
    app's clock a day behind the database's, the window still closes 15 min
    after the last failure (the rows once took the database's time)."""
    clock.advance(-86_400)
    for i in range(20):
        assert login(client, f"guess{i:02d}", "wrong-password-1").status_code == 401
    assert login(client, ACCOUNTS["viewer"].username, PASSWORD).status_code == 429
    clock.advance(15 * 60 + 1)
    assert login(client, ACCOUNTS["viewer"].username, PASSWORD).status_code == 200


def test_token_expires(client: TestClient, clock: Clock) -> None:
    token = login(client, "van.hanh", PASSWORD).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    clock.advance(899)
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    clock.advance(2)
    expired = client.get("/api/v1/auth/me", headers=headers)
    assert expired.status_code == 401
    assert "expired" in expired.json()["detail"]


def test_logout_revokes_the_token(client: TestClient, db_conn: Any) -> None:
    token = login(client, "van.hanh", PASSWORD).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 401
    assert audit_actions(db_conn)[-1] == ("van.hanh", "logout")


def test_no_token_is_401(client: TestClient) -> None:
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_password_change_revokes_other_tokens(client: TestClient, db_conn: Any) -> None:
    first = login(client, "van.hanh", PASSWORD).json()["access_token"]
    second = login(client, "van.hanh", PASSWORD).json()["access_token"]
    h2 = {"Authorization": f"Bearer {second}"}
    weak = client.post(
        "/api/v1/auth/password",
        headers=h2,
        json={"current_password": PASSWORD, "new_password": "short"},
    )
    assert weak.status_code == 400
    assert "12 characters" in weak.json()["detail"]
    wrong = client.post(
        "/api/v1/auth/password",
        headers=h2,
        json={"current_password": "nope-nope-nope", "new_password": "Mat-khau-moi-2026!"},
    )
    assert wrong.status_code == 400
    done = client.post(
        "/api/v1/auth/password",
        headers=h2,
        json={"current_password": PASSWORD, "new_password": "Mat-khau-moi-2026!"},
    )
    assert done.status_code == 204
    assert client.get("/api/v1/auth/me", headers=h2).status_code == 200
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {first}"}).status_code
        == 401
    )
    assert login(client, "van.hanh", PASSWORD).status_code == 401
    assert login(client, "van.hanh", "Mat-khau-moi-2026!").status_code == 200
    assert ("van.hanh", "user.password_change") in audit_actions(db_conn)


def test_disabled_account_cannot_log_in_and_its_tokens_stop(
    client: TestClient, db_conn: Any
) -> None:
    token = login(client, "van.hanh", PASSWORD).json()["access_token"]
    db_conn.execute("UPDATE users SET active = false WHERE username = 'van.hanh'")
    assert (
        client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert login(client, "van.hanh", PASSWORD).status_code == 401


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_validation_errors_are_problems(client: TestClient) -> None:
    response = client.post("/api/v1/auth/token", data={"username": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    assert "password" in body["detail"]


def test_openapi_browser_is_served_without_a_cdn(client: TestClient) -> None:
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page.text
    script = client.get("/api/v1/docs/assets/swagger-ui-bundle.js")
    assert script.status_code == 200
    assert len(script.content) > 100_000
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/boards" in schema["paths"]
