"""What a phone on weak 4G downloads: pages and lists compressed when the
browser asks, static files kept until they change, and the CSRF token masked
per response so compression leaks nothing of it (BREACH)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from fleet_server.api.console.assets import IMMUTABLE, REVALIDATE, version
from fleet_server.api.console.web import STATIC
from fleet_server.api.deps import masked_csrf
from tests.server.api.conftest import open_test_incident
from tests.server.api.console.conftest import csrf_of

NewBrowser = Callable[..., TestClient]
BOARD = "lc-ma-lu-thang-01"


def test_pages_and_lists_are_compressed_for_browsers_that_ask(new_browser: NewBrowser) -> None:
    admin = new_browser("admin")
    for url in ("/incidents", "/api/v1/boards?limit=50"):
        packed = admin.get(url, headers={"Accept-Encoding": "gzip"})
        assert packed.status_code == 200, url
        assert packed.headers["content-encoding"] == "gzip", url
        plain = admin.get(url, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers, url
        # the client unpacks: the same document either way (modulo the masked token)
        if url.startswith("/api/"):
            assert packed.json() == plain.json()


def test_the_csrf_token_differs_on_every_page_and_each_one_works(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    operator = new_browser("operator")
    first = csrf_of(operator.get("/incidents").text)
    second = csrf_of(operator.get("/incidents").text)
    assert first != second
    incident = open_test_incident(db_conn, BOARD)
    for token in (first, second):
        # a masked token is refused when its pad or body is changed
        tampered = token[:-2] + ("00" if token[-2:] != "00" else "11")
        answer = operator.post(
            f"/api/v1/incidents/{incident}/comments",
            json={"text": "ok"},
            headers={"X-CSRF-Token": tampered},
        )
        assert answer.status_code == 403
    answer = operator.post(
        f"/incidents/{incident}/acknowledge", data={"csrf_token": second, "next": "/incidents"}
    )
    assert answer.status_code == 303, answer.text
    state = db_conn.execute("SELECT state FROM incidents WHERE id = %s", (incident,)).fetchone()
    assert state == ("acknowledged",)


def test_masked_tokens_do_not_repeat_the_token() -> None:
    token = "abcdefghijklmnopqrstuvwxyz012345"
    masks = {masked_csrf(token) for _ in range(20)}
    assert len(masks) == 20
    assert not any(token in m or token.encode().hex() in m for m in masks)


def test_static_files_are_kept_until_they_change(new_browser: NewBrowser) -> None:
    browser = new_browser()
    login = browser.get("/login").text
    linked = re.search(r'href="(/static/console\.css\?v=([0-9a-f]+))"', login)
    assert linked, "the stylesheet is linked with its version"
    assert linked.group(2) == version(STATIC, "console.css")
    kept = browser.get(linked.group(1))
    assert kept.status_code == 200
    assert kept.headers["cache-control"] == IMMUTABLE
    for stale in ("/static/console.css", "/static/console.css?v=0123456789abcdef"):
        answer = browser.get(stale)
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == REVALIDATE, stale
    assert browser.get("/static/missing.css").status_code == 404
    packed = browser.get(linked.group(1), headers={"Accept-Encoding": "gzip"})
    assert packed.headers.get("content-encoding") == "gzip"
    assert b"{" in packed.content
