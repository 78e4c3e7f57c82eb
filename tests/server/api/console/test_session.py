"""Signing in and out of the console: audit rows with the address, a new
session id on every login (session fixation), cookie flags, the login form's
CSRF cookie, safe ``next`` addresses, expiry and idle timeout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.api.deps import SESSION_COOKIE
from fleet_server.settings import Settings
from tests.server.api.conftest import ACCOUNTS, PASSWORD, audit_actions
from tests.server.api.console.conftest import csrf_of, sign_in
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]


def last_audit(conn: Any) -> tuple[Any, ...]:
    row = conn.execute(
        "SELECT actor, action, host(address), detail FROM audit_log ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row is not None
    return tuple(row)


def set_cookie_header(response: Any, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return str(header)
    raise AssertionError(f"no Set-Cookie for {name}")


def test_login_is_audited_with_address_and_lands_on_the_overview(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    browser = new_browser()
    answer = sign_in(browser, "van.hanh")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/"
    assert last_audit(db_conn) == ("van.hanh", "login", "127.0.0.1", "console session")
    page = browser.get("/")
    assert page.status_code == 200
    assert "Tổng quan hệ thống" in page.text


def test_failed_login_is_audited_and_answered_with_the_form(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    browser = new_browser()
    answer = sign_in(browser, "van.hanh", "wrong-password-here")
    assert answer.status_code == 401
    assert "Sai tên đăng nhập hoặc mật khẩu." in answer.text
    assert SESSION_COOKIE not in answer.cookies
    assert last_audit(db_conn) == ("van.hanh", "login_failed", "127.0.0.1", "wrong password")
    unknown = sign_in(browser, "khong.co.ai", "whatever-password")
    assert unknown.status_code == 401
    assert last_audit(db_conn)[:3] == ("khong.co.ai", "login_failed", "127.0.0.1")


def test_lockout_shows_a_message_and_keeps_the_audit_rows(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    browser = new_browser()
    for _ in range(5):
        assert sign_in(browser, "xem", "wrong-password-1").status_code == 401
    locked = sign_in(browser, "xem", PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    assert "Tạm khóa" in locked.text
    assert [a for _, a in audit_actions(db_conn)] == ["login_failed"] * 6


def test_login_gives_a_new_session_and_revokes_the_one_presented(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    # An attacker signs in with their own account and plants that session id
    # in the victim's browser.
    attacker = new_browser("viewer")
    planted = attacker.cookies[SESSION_COOKIE]
    victim = new_browser()
    token = csrf_of(victim.get("/login").text)
    victim.cookies.set(SESSION_COOKIE, planted)
    answer = victim.post(
        "/login", data={"username": "van.hanh", "password": PASSWORD, "csrf_token": token}
    )
    assert answer.status_code == 303
    fresh = answer.cookies[SESSION_COOKIE]
    assert fresh != planted
    # The planted id is dead for everyone, the attacker included.
    assert attacker.get("/").status_code == 303
    assert victim.get("/").status_code == 200
    revoked = db_conn.execute(
        "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE u.username = 'xem' AND t.kind = 'session' AND t.revoked_at IS NOT NULL"
    ).fetchone()
    assert revoked == (1,)


def test_session_cookie_flags(new_browser: NewBrowser) -> None:
    answer = sign_in(new_browser(), "van.hanh")
    cookie = set_cookie_header(answer, SESSION_COOKIE).lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "path=/" in cookie
    assert "secure" not in cookie  # development over plain http


def test_session_cookie_is_secure_over_https_unless_configured_otherwise(
    app: Any, api_db: str, clock: Clock
) -> None:
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as browser:
        answer = sign_in(browser, "van.hanh")
        assert "secure" in set_cookie_header(answer, SESSION_COOKIE).lower()
    settings = Settings(database_url=api_db, api_cookie_secure=False)
    with ConnectionPool(api_db, min_size=1, max_size=2, open=True) as pool:
        plain = create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)
        with TestClient(plain, base_url="https://testserver", follow_redirects=False) as browser:
            answer = sign_in(browser, "van.hanh")
            assert "secure" not in set_cookie_header(answer, SESSION_COOKIE).lower()


def test_login_form_needs_its_csrf_cookie(new_browser: NewBrowser, db_conn: Any) -> None:
    browser = new_browser()
    token = csrf_of(browser.get("/login").text)
    form = {"username": "van.hanh", "password": PASSWORD}
    # Without the token in the form, or with another one: refused, nothing audited.
    assert browser.post("/login", data=form).status_code == 403
    assert browser.post("/login", data={**form, "csrf_token": "forged"}).status_code == 403
    # A cross-site form cannot send the cookie: the token alone is not enough.
    stranger = new_browser()
    refused = stranger.post("/login", data={**form, "csrf_token": token})
    assert refused.status_code == 403
    assert "Biểu mẫu đã hết hạn" in refused.text
    assert audit_actions(db_conn) == []
    assert browser.post("/login", data={**form, "csrf_token": token}).status_code == 303


def test_only_local_next_addresses_are_followed(new_browser: NewBrowser) -> None:
    for next_url, landing in (
        ("/incidents?state=all", "/incidents?state=all"),
        ("//evil.example/steal", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ):
        browser = new_browser()
        form = browser.get("/login", params={"next": next_url})
        answer = browser.post(
            "/login",
            data={
                "username": "van.hanh",
                "password": PASSWORD,
                "csrf_token": csrf_of(form.text),
                "next": next_url,
            },
        )
        assert answer.status_code == 303
        assert answer.headers["location"] == landing, next_url


def test_pages_send_a_stranger_to_the_login_form_and_back(new_browser: NewBrowser) -> None:
    browser = new_browser()
    answer = browser.get("/incidents", params={"state": "all"})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Fincidents%3Fstate%3Dall"
    form = browser.get(answer.headers["location"])
    assert 'name="next" value="/incidents?state=all"' in form.text
    # Live fragments do not redirect: the script sees 401 and stops.
    assert browser.get("/live/overview").status_code == 401


def test_border_guard_lands_on_cameras(new_browser: NewBrowser) -> None:
    answer = sign_in(new_browser(), ACCOUNTS["guard"].username)
    assert answer.headers["location"] == "/cameras"


def test_logout_needs_the_csrf_token_and_revokes_the_session(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    browser = new_browser("operator")
    page = browser.get("/")
    assert browser.post("/logout").status_code == 403
    assert browser.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    assert browser.get("/").status_code == 200  # still signed in
    answer = browser.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login"
    assert last_audit(db_conn)[:2] == ("van.hanh", "logout")
    assert browser.get("/").status_code == 303
    live = db_conn.execute(
        "SELECT count(*) FROM api_tokens WHERE kind = 'session' AND revoked_at IS NULL"
    ).fetchone()
    assert live == (0,)


def test_idle_session_ends(new_browser: NewBrowser, clock: Clock) -> None:
    browser = new_browser("operator")
    clock.advance(50 * 60)
    assert browser.get("/").status_code == 200  # used: the idle timer starts again
    clock.advance(50 * 60)
    assert browser.get("/").status_code == 200
    clock.advance(60 * 60 + 1)
    answer = browser.get("/tickets")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Ftickets"


def test_session_expires_after_its_lifetime_even_when_used(
    new_browser: NewBrowser, clock: Clock
) -> None:
    browser = new_browser("operator")
    statuses = []
    for _ in range(9):  # 9 x 55 min = 8 h 15 min, never idle for an hour
        clock.advance(55 * 60)
        statuses.append(browser.get("/").status_code)
    assert statuses == [200] * 8 + [303]
