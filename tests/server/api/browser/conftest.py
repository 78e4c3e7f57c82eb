"""Browser fixtures: the app served by uvicorn on a free port in a thread,
and Debian's headless Chromium driven by Playwright (never a downloaded
browser: ``executable_path`` points at the system one)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from tests.support.ports import free_port
from tests.support.wait import wait_for

CHROMIUM = Path(os.environ.get("FLEET_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[4] / "build" / "test-artifacts" / "screenshots"

if not CHROMIUM.exists():
    pytest.skip(
        f"no Chromium at {CHROMIUM}: install Debian's chromium package (the test command does)",
        allow_module_level=True,
    )
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is missing")


@pytest.fixture(scope="package")
def chromium_process() -> Iterator[Any]:
    """One browser process for the browser tests (this folder), closed after
    its last test. Not for the session: Playwright's driver and Chromium left
    running made later tests with real agent threads miss their last wills."""
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


class Contexts:
    """The shared browser as one test sees it: each ``new_context`` is the
    test's own (no cookies, storage or pages of another test), closed when
    the test ends."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser
        self._contexts: list[Any] = []

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        self._contexts.append(context)
        return context

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def chromium(chromium_process: Any) -> Iterator[Contexts]:
    """The browser for one test: fresh contexts, closed after it."""
    contexts = Contexts(chromium_process)
    yield contexts
    contexts.close()


@pytest.fixture
def live_url(app: FastAPI) -> Iterator[str]:
    """The app on 127.0.0.1:<free port>, live regions refreshed every second."""
    app.state.console_live_period_s = 1.0
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    wait_for(lambda: server.started or not thread.is_alive(), timeout=20, what="uvicorn")
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
