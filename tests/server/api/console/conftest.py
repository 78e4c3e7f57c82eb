"""Console fixtures: browsers (TestClients with their own cookie jars) that
sign in through the login form, as a person would."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.server.api.conftest import ACCOUNTS, PASSWORD

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')

Browser = TestClient


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on a page."""
    found = CSRF_INPUT.search(html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in(browser: TestClient, username: str, password: str = PASSWORD) -> Any:
    """Fill in the login form; returns the answer to the POST (not followed)."""
    form = browser.get("/login")
    assert form.status_code == 200
    return browser.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )


@pytest.fixture
def new_browser(app: FastAPI) -> Iterator[Callable[..., TestClient]]:
    """``new_browser()`` -> a fresh client; ``new_browser("operator")`` -> one
    signed in as that account."""
    opened: list[TestClient] = []

    def make(key: str | None = None) -> TestClient:
        browser = TestClient(
            app, base_url="http://testserver", client=("127.0.0.1", 50001), follow_redirects=False
        )
        browser.__enter__()
        opened.append(browser)
        if key is not None:
            answer = sign_in(browser, ACCOUNTS[key].username)
            assert answer.status_code == 303, answer.text
        return browser

    yield make
    for browser in opened:
        browser.__exit__(None, None, None)
