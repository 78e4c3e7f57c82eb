"""The OpenAPI browser at /api/v1/docs in a real browser (headless
Chromium): Swagger UI 5 reads FastAPI's OpenAPI 3.1 document and lists the
operations (the Swagger UI 4.15 it replaces showed "Unable to render this
definition"), a request tried from the page reaches the API, every file
comes from the app (no request leaves 127.0.0.1) and the console's
Content-Security-Policy holds (no violation reported). Screenshots go to
build/test-artifacts/screenshots/."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

pytestmark = pytest.mark.slow
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 15_000
#: Swagger UI parses the whole OpenAPI document before it draws anything:
#: seconds on a busy two-core machine.
RENDER_MS = 60_000
#: Scrolls through the operations list before giving up (it ends in ~20).
MAX_SCROLLS = 300


def _page(chromium: Any, viewport: dict[str, int]) -> tuple[Any, list[str], list[str]]:
    """A page that records every request and refuses, rather than sends,
    any that would leave 127.0.0.1."""
    context = chromium.new_context(viewport=viewport)
    context.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    context.route(re.compile(r"^(?!http://127\.0\.0\.1:)[a-z]+://"), lambda route: route.abort())
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page, requests, errors


def _scroll_through(page: Any) -> set[str]:
    """Every operation ("GET /path") the page lists. Swagger UI draws only
    the tags near the view (a virtual list): scroll to the end, gathering
    what is drawn, until nothing new appears; then back to the top."""
    seen: set[str] = set()
    for _ in range(MAX_SCROLLS):
        drawn = set(
            page.evaluate(
                """() => [...document.querySelectorAll('.opblock')].map(b =>
                       b.querySelector('.opblock-summary-method').innerText + ' ' +
                       b.querySelector('.opblock-summary-path').innerText)"""
            )
        )
        # Done only at the page's end with nothing new: on a busy machine the
        # next tags may take longer to draw than the wait below (CI missed
        # GET /api/v1/incidents when a 3 s wait alone ended the walk).
        at_end = page.evaluate(
            "() => window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 2"
        )
        if drawn <= seen and at_end:
            break
        seen |= drawn
        last = page.locator(".opblock").last
        last.scroll_into_view_if_needed()
        page.evaluate("window.scrollBy(0, window.innerHeight)")
        with contextlib.suppress(PlaywrightTimeout):  # the end: nothing more to draw
            page.wait_for_function(
                "last => !document.body.contains(last) ||"
                " [...document.querySelectorAll('.opblock')].pop() !== last",
                arg=last.element_handle(),
                timeout=3000,
            )
    else:
        pytest.fail(f"the operations list did not end after {MAX_SCROLLS} scrolls")
    page.evaluate("window.scrollTo(0, 0)")
    return seen


def test_the_api_docs_page_lists_the_operations_and_tries_one(
    chromium: Any, live_url: str, screenshots: Path
) -> None:
    page, requests, errors = _page(chromium, DESKTOP)
    response = page.goto(f"{live_url}/api/v1/docs")
    assert response is not None
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    operations = page.locator(".opblock")
    operations.first.wait_for(timeout=RENDER_MS)
    listed = _scroll_through(page)
    assert "GET /api/v1/incidents" in listed
    assert "GET /api/v1/boards/{board_id}" in listed
    assert "POST /api/v1/auth/token" in listed
    assert len(listed) > 50
    ui = page.locator("#swagger-ui").inner_text()
    assert "Unable to render" not in ui
    assert "OAS 3.1" in page.locator(".information-container").inner_text()
    assert (
        page.locator(".info .title")
        .inner_text()
        .startswith("Lai Châu information boards: fleet API")
    )
    page.screenshot(path=screenshots / "50-api-docs.png")

    # Try GET /healthz from the page: the request goes to the app and back.
    health = page.locator(
        ".opblock-get",
        has=page.locator(".opblock-summary-path", has_text=re.compile(r"^/healthz$")),
    )
    health.locator(".opblock-summary").click()
    health.get_by_role("button", name="Try it out").click()
    health.get_by_role("button", name="Execute").click()
    answer = health.locator(".live-responses-table tr.response .response-col_status").first
    answer.wait_for()
    assert answer.inner_text().strip() == "200"
    assert (
        '"status": "ok"' in health.locator(".live-responses-table .microlight").first.inner_text()
    )

    assert requests
    assert [url for url in requests if not url.startswith(live_url)] == []
    assert f"{live_url}/api/v1/openapi.json" in requests
    assert errors == []


def test_the_api_docs_page_reads_on_a_phone(
    chromium: Any, live_url: str, screenshots: Path
) -> None:
    page, requests, errors = _page(chromium, PHONE)
    page.goto(f"{live_url}/api/v1/docs")
    page.locator(".opblock").first.wait_for(timeout=RENDER_MS)
    # Swagger UI draws the tags as they scroll into view: find a later tag's
    # operation the way a reader would, with the filter box
    page.get_by_placeholder("Filter by tag or path").fill("incidents")
    incidents = page.locator(".opblock-summary-path", has_text=re.compile(r"^/api/v1/incidents$"))
    incidents.first.wait_for(timeout=RENDER_MS)
    page.screenshot(path=screenshots / "51-api-docs-phone.png")
    assert [url for url in requests if not url.startswith(live_url)] == []
    assert errors == []
