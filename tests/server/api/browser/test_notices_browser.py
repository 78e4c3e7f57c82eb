"""Notices in a real browser (headless Chromium, on a phone and in both
languages): an operator opens the notices view, filters the sent ones,
follows one to its incident and reads there what was sent to whom — the
place, the cause, the time. With no mail server (the demo) this is where
notices are read. Screenshots go to build/test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleet_server.notifications.worker import NotificationWorker
from tests.server.api.browser.test_console_browser import PHONE, new_page, sign_in
from tests.server.api.console.fleet_state import DAY_BOARD, open_ticket
from tests.server.api.console.test_notices_page import open_told_incident
from tests.server.notifications.conftest import (
    SmtpSink,
    add_contact,
    add_route,
    notification_settings,
)
from tests.support import seed
from tests.support.clock import Clock

pytestmark = pytest.mark.slow


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def notices(api_db: str, db_conn: Any, clock: Clock, smtp: SmtpSink) -> dict[str, int]:
    """A display incident told to the desk by e-mail (sent), and a ticket
    given to the technician (their notice still queued)."""
    desk = add_contact(db_conn, "Tổ kỹ thuật BQL", email="kythuat@example.vn")
    add_route(db_conn, desk, incident_class="technical")
    incident = open_told_incident(db_conn, DAY_BOARD, "display_dark", clock.now)
    worker = NotificationWorker(
        api_db, notification_settings(smtp.port), clock=clock, worker_id="browser"
    )
    try:
        worker.run_once()
    finally:
        worker.close()
    seed.own_contact(db_conn, "ky.thuat", "an@example.vn", name="Kỹ thuật An")
    ticket = open_ticket(db_conn, DAY_BOARD, clock.now, "Màn hình tối")
    return {"incident": incident, "ticket": ticket}


def _fits(page: Any) -> bool:
    """Nothing wider than the phone's screen (no sideways scrolling)."""
    return bool(
        page.evaluate(
            "document.documentElement.scrollWidth <= document.documentElement.clientWidth + 1"
        )
    )


def test_an_operator_reads_the_notices_on_a_phone(
    chromium: Any, live_url: str, notices: dict[str, int], screenshots: Path
) -> None:
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/notices")
    assert page.locator("h1").inner_text() == "Thông báo đã gửi"
    sent = page.locator("tr[data-notice-state=sent]")
    assert sent.count() == 1
    assert "Tổ kỹ thuật BQL" in sent.inner_text()
    assert "Thư điện tử" in sent.inner_text()
    assert _fits(page)
    page.screenshot(path=screenshots / "40-notices-phone.png", full_page=True)

    # Filter: the sent ones only.
    page.select_option("select[name=state]", "sent")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**/notices?state=sent*")
    assert page.locator("tr[data-notice-id]").count() == 1

    # Follow it to its incident: the notice, what it said, to whom.
    page.click("a[data-notice-link]")
    page.wait_for_url(f"**/incidents/{notices['incident']}*")
    section = page.locator("#notices")
    assert "Thông báo về sự cố này" in section.inner_text()
    section.locator("details.notice-text summary").first.click()
    text = section.locator("details.notice-text pre").first.inner_text()
    assert "Điểm lắp đặt: Cửa khẩu quốc tế Ma Lù Thàng" in text
    assert "(giờ Việt Nam)" in text
    assert _fits(page)
    page.screenshot(path=screenshots / "41-incident-notices-phone.png", full_page=True)
    assert page.errors == []


def test_the_assignment_notice_in_english_on_a_phone(
    chromium: Any, live_url: str, notices: dict[str, int], screenshots: Path
) -> None:
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    url = f"{live_url}/tickets/{notices['ticket']}"
    page.goto(f"{url}?lang=en")
    page.select_option("#assign-form select[name=assignee]", "ky.thuat")
    page.click("#assign-form button[type=submit]")
    page.wait_for_load_state()
    section = page.locator("#notices")
    assert "Notices about this ticket" in section.inner_text()
    row = section.locator("tr[data-notice-kind=ticket_assigned]", has_text="Kỹ thuật An")
    assert row.count() == 1
    assert "Waiting to be sent" in row.inner_text()
    assert _fits(page)
    page.screenshot(path=screenshots / "42-ticket-notices-phone-en.png", full_page=True)

    page.goto(f"{live_url}/notices?kind=ticket_assigned")
    assert page.locator("h1").inner_text() == "Notices"
    assert page.locator("tr[data-notice-kind=ticket_assigned]").count() >= 1
    assert page.errors == []
