"""CSRF: a console form without the session's token, or with another one,
is refused with a 403 page and changes nothing; an API call authenticated by
the session cookie needs the X-CSRF-Token header."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from tests.server.api.conftest import audit_actions, open_test_incident
from tests.server.api.console.conftest import csrf_of
from tests.server.api.console.fleet_state import open_ticket
from tests.support.clock import Clock

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"


def _last_audit_id(conn: Any) -> int:
    row = conn.execute("SELECT coalesce(max(id), 0) FROM audit_log").fetchone()
    return int(row[0])


def test_incident_form_without_the_right_token_changes_nothing(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    incident = open_test_incident(db_conn, BOARD)
    operator = new_browser("operator")
    # A valid token, but of someone else's session, is as bad as none.
    someone_elses = csrf_of(new_browser("admin").get("/incidents").text)
    before = _last_audit_id(db_conn)
    for token in (None, "", "forged-token", someone_elses):
        form: dict[str, str] = {"next": "/incidents"}
        if token is not None:
            form["csrf_token"] = token
        answer = operator.post(f"/incidents/{incident}/acknowledge", data=form)
        assert answer.status_code == 403
        assert answer.headers["content-type"].startswith("text/html")
        assert "Biểu mẫu đã hết hạn hoặc không hợp lệ" in answer.text
    state = db_conn.execute("SELECT state FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert state == ("open",)
    assert audit_actions(db_conn, before) == []


def test_ticket_forms_without_the_token_change_nothing(
    new_browser: NewBrowser, db_conn: Any, clock: Clock
) -> None:
    ticket = open_ticket(db_conn, BOARD, clock.now)
    operator = new_browser("operator")
    before = _last_audit_id(db_conn)
    for action, form in (
        ("assign", {"assignee": "ky.thuat"}),
        ("transition", {"to": "in_progress"}),
        ("comment", {"text": "xin chào"}),
        ("cost", {"category": "repair", "description": "x", "amount_vnd": "1000"}),
    ):
        answer = operator.post(f"/tickets/{ticket}/{action}", data=form)
        assert answer.status_code == 403, action
    row = db_conn.execute(
        "SELECT state, assignee, (SELECT count(*) FROM ticket_events WHERE ticket_id = t.id)"
        " FROM tickets t WHERE id = %s",
        (ticket,),
    ).fetchone()
    assert row == ("open", None, 1)
    assert audit_actions(db_conn, before) == []


def test_api_call_with_the_session_cookie_needs_the_csrf_header(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    incident = open_test_incident(db_conn, BOARD)
    operator = new_browser("operator")
    token = csrf_of(operator.get("/incidents").text)
    url = f"/api/v1/incidents/{incident}/acknowledge"
    # Reads need no token.
    assert operator.get(f"/api/v1/incidents/{incident}").status_code == 200
    refused = operator.post(url, json={})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert operator.post(url, json={}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    state = db_conn.execute("SELECT state FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert state == ("open",)
    accepted = operator.post(url, json={}, headers={"X-CSRF-Token": token})
    assert accepted.status_code == 200
    assert accepted.json()["state"] == "acknowledged"
