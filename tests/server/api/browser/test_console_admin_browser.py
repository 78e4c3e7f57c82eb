"""The administration pages in a real browser (headless Chromium): an admin
on a phone, in Vietnamese, adds a notice contact and routes notices to it,
creates an account (a weak password first: refused with the reason), then,
in English, enrols a board against a real Mosquitto and sees its one-time
credentials, downloads its agent.toml, and never sees them again.
Screenshots go to build/test-artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.provisioning import ProvisioningBackend
from tests.server.api.browser.test_console_browser import DESKTOP, PHONE, new_page, sign_in
from tests.server.api.conftest import api_settings
from tests.server.provisioning.conftest import (  # noqa: F401 - fixtures
    backend_for,
    broker,
    unique,
)
from tests.support.clock import Clock
from tests.support.secure_broker import SecureBroker

pytestmark = pytest.mark.slow

STRONG = "Ban-Quan-Ly-Cua-Khau-2027"


@pytest.fixture
def app(api_db: str, clock: Clock, broker: SecureBroker) -> Iterator[FastAPI]:  # noqa: F811
    backend: ProvisioningBackend = backend_for(broker)
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(
            api_settings(api_db),
            clock=clock,
            pool=pool,
            broker_check=lambda: None,
            provisioning=backend,
        )


def _fits(page: Any) -> bool:
    """Nothing wider than the screen (no sideways scrolling on a phone)."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1"))


def test_an_admin_on_a_phone_adds_a_contact_a_route_and_an_account(
    chromium: Any, live_url: str, db_conn: Any, screenshots: Path
) -> None:
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "admin")
    page.click("nav.menu >> text=Quản trị")
    page.wait_for_url("**/admin/contacts")
    assert _fits(page)

    form = page.locator("#contact-form")
    form.locator("input[name=name]").fill("Trực ban Ban Quản lý khu kinh tế")
    form.locator("select[name=kind]").select_option("duty_desk")
    form.locator("input[name=email]").fill("truc.ban@laichau.gov.vn")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/admin/contacts/*?flash=admin_contact_created#main")
    assert (
        page.locator("[data-flash=admin_contact_created]").inner_text()
        == "Đã thêm người nhận thông báo."
    )
    assert _fits(page)
    page.screenshot(path=screenshots / "60-admin-contact-phone.png", full_page=True)

    page.click("text=Thêm tuyến cho người này")
    page.wait_for_url("**/admin/routes?contact_id=*")
    route = page.locator("#route-form")
    chosen = route.locator("select[name=contact_id] option:checked").inner_text()
    assert chosen == "Trực ban Ban Quản lý khu kinh tế"
    route.locator("select[name=min_severity]").select_option("major")
    route.locator("select[name=incident_class]").select_option("technical")
    route.locator("input[name=incident_kinds]").fill("camera*, mains_lost")
    route.locator("button[type=submit]").click()
    page.wait_for_url("**/admin/routes/*?flash=admin_route_created#main")
    assert (
        page.locator("[data-flash=admin_route_created]").inner_text() == "Đã thêm tuyến thông báo."
    )
    summary = page.locator("#route").inner_text()
    assert "gửi Trực ban Ban Quản lý khu kinh tế" in summary
    assert "từ mức Lớn" in summary
    assert "camera*, mains_lost" in summary
    assert _fits(page)

    page.click("nav.tabs >> text=Tài khoản")
    page.wait_for_url("**/admin/users")
    user = page.locator("#user-form")
    user.locator("input[name=username]").fill("lo.van.binh")
    user.locator("input[name=full_name]").fill("Lò Văn Bình")
    user.locator("select[name=role]").select_option("technician")
    user.locator("input[name=team]").fill("to-ky-thuat-bien-gioi")
    user.locator("input[name=password]").fill("ngan")
    user.locator("input[name=password_again]").fill("ngan")
    user.locator("button[type=submit]").click()
    page.wait_for_url("**/admin/users#new")
    refusal = page.locator("#new [role=alert][data-error=password]")
    box = refusal.bounding_box()  # beside the form, where the phone has scrolled to
    assert box is not None
    assert 0 <= box["y"] < PHONE["height"]
    assert "Mật khẩu cần ít nhất" in refusal.inner_text()
    assert "Mật khẩu" in refusal.inner_text()  # the field, in the reader's language
    # What was typed is kept, except the password.
    assert page.locator("#user-form input[name=username]").input_value() == "lo.van.binh"
    assert page.locator("#user-form input[name=password]").input_value() == ""
    page.screenshot(path=screenshots / "61-admin-user-refused-phone.png", full_page=True)
    page.locator("#user-form input[name=password]").fill(STRONG)
    page.locator("#user-form input[name=password_again]").fill(STRONG)
    page.locator("#user-form button[type=submit]").click()
    page.wait_for_url("**/admin/users/*?flash=admin_user_created#main")
    assert (
        page.locator("[data-flash=admin_user_created]").inner_text().startswith("Đã tạo tài khoản.")
    )
    assert page.locator("[data-role=technician]").inner_text() == "Kỹ thuật viên"
    assert _fits(page)
    assert STRONG not in page.content()
    # The refused form answered 400 (the browser says so); nothing else went wrong.
    assert page.errors == [
        "Failed to load resource: the server responded with a status of 400 (Bad Request)"
    ]


def test_an_admin_enrols_a_board_and_sees_its_credentials_once(
    chromium: Any,
    live_url: str,
    db_conn: Any,
    broker: SecureBroker,  # noqa: F811 - the fixture
    screenshots: Path,
) -> None:
    page = new_page(chromium, viewport=DESKTOP)
    sign_in(page, live_url, "admin")
    page.goto(f"{live_url}/admin/boards?lang=en")
    assert page.locator("h1").inner_text() == "Board provisioning"
    board = unique("lc-browser")
    form = page.locator("#board-form")
    form.locator("input[name=board_id]").fill(board)
    site = db_conn.execute("SELECT id FROM sites WHERE code = 'phong-tho'").fetchone()[0]
    form.locator("input[name=site_id]").fill(str(site))  # the place picker: a site's id typed
    form.locator("input[name=name]").fill("Phong Tho market board")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == f"Credentials of {board}"
    assert page.locator("#once").inner_text().startswith("Shown once")
    password = page.locator("[data-secret=password]").inner_text()
    probe = broker.probe(board, board, password)
    assert probe.connect().ok
    probe.close()
    page.screenshot(path=screenshots / "62-admin-board-credentials.png", full_page=True)

    with page.expect_download() as download_info:
        page.click("[data-download='agent.toml']")
    download = download_info.value
    assert download.suggested_filename == "agent.toml"
    saved = Path(download.path()).read_text("utf-8")
    assert f'device_id = "{board}"' in saved

    page.click("text=Copied, done")
    page.wait_for_url(f"**/admin/boards/{board}")
    assert page.locator("#board").get_attribute("data-status") == "pending"
    assert password not in page.content()
    page.goto(f"{live_url}/admin/boards")
    assert password not in page.content()
    assert page.locator(f"tr[data-board='{board}']").get_attribute("data-status") == "pending"
    assert page.errors == []


def test_the_provisioning_page_on_a_phone_in_english(
    chromium: Any, live_url: str, screenshots: Path
) -> None:
    page = new_page(chromium, viewport=PHONE)
    sign_in(page, live_url, "operator")
    page.goto(f"{live_url}/admin/boards?lang=en")
    assert page.locator("nav.menu a[aria-current=page]").inner_text() == "Administration"
    tabs = page.locator("nav.tabs a").all_inner_texts()
    assert tabs == ["Notice contacts", "Notice routes", "Board provisioning"]  # no accounts
    assert _fits(page)
    page.screenshot(path=screenshots / "63-admin-boards-phone-en.png", full_page=True)
    assert page.errors == []
