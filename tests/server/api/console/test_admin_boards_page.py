"""Board provisioning in the console (``board.provision``), against a real
Mosquitto with dynamic security and TLS: the one-time credentials are on
the page that answers the form and nowhere after it (not on any page, not
in the database, not in the audit log), the broker takes them, new ones
retire the old, and each refusal comes back with its reason.

Điều 9.1 of the regulation: the operator «chịu trách nhiệm thực hiện các
biện pháp kỹ thuật đảm bảo hoạt động an toàn, ổn định cho Cụm Thông tin
điện tử công cộng; đảm bảo an toàn an ninh thông tin»."""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.provisioning import ProvisioningBackend
from tests.server.api.conftest import api_settings, set_status
from tests.server.api.console.conftest import csrf_of
from tests.server.provisioning.conftest import (  # noqa: F401 - fixtures
    backend_for,
    broker,
    dump,
    unique,
)
from tests.support.clock import Clock
from tests.support.secure_broker import SecureBroker

NewBrowser = Callable[..., TestClient]
PASSWORD_ROW = re.compile(r'data-secret="password">([^<]+)<')


@pytest.fixture
def backend(broker: SecureBroker) -> ProvisioningBackend:  # noqa: F811
    return backend_for(broker)


@pytest.fixture
def app(api_db: str, clock: Clock, backend: ProvisioningBackend) -> Iterator[FastAPI]:
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(
            api_settings(api_db),
            clock=clock,
            pool=pool,
            broker_check=lambda: None,
            provisioning=backend,
        )


def _post(browser: TestClient, page: str, action: str, **form: Any) -> Any:
    csrf = csrf_of(browser.get(page).text)
    return browser.post(action, data={"csrf_token": csrf, **form})


def _site(db_conn: Any, code: str) -> str:
    return str(db_conn.execute("SELECT id FROM sites WHERE code = %s", (code,)).fetchone()[0])


def _reason(page: str) -> str:
    found = re.search(r'<div class="flash error refusal" role="alert"[^>]*>(.*?)</div>', page, re.S)
    assert found, "no refusal on the page"
    return html.unescape(re.sub(r"\s+", " ", found.group(1)))


def _password(page: str) -> str:
    found = PASSWORD_ROW.search(page)
    assert found, "no password on the page"
    return html.unescape(found.group(1))


def test_admin_adds_a_board_and_sees_its_credentials_once(
    new_browser: NewBrowser,
    db_conn: Any,
    clock: Clock,
    broker: SecureBroker,  # noqa: F811
) -> None:
    admin = new_browser("admin")
    board = unique("lc-console")
    answer = _post(
        admin,
        "/admin/boards",
        "/admin/boards",
        board_id=board,
        site_id=_site(db_conn, "phong-tho"),
        name="Bảng tin chợ Phong Thổ",
        auth="password",
        cameras="cam1 Cổng chợ\ncam2 Bến xe",
        installed_on="2026-11-30",
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "Chỉ hiện một lần" in answer.text
    password = _password(answer.text)
    probe = broker.probe(board, board, password)
    assert probe.connect().ok  # the broker takes what the page showed
    probe.close()
    # Each file to download, made in the page: agent.toml names the board.
    links = {
        name: unquote(html.unescape(href))
        for href, name in re.findall(
            r'href="data:text/plain;charset=utf-8,([^"]+)" download="([^"]+)"', answer.text
        )
    }
    assert set(links) == {"agent.toml", "ca.crt", "mqtt.pw"}
    assert f'device_id = "{board}"' in links["agent.toml"]
    assert links["mqtt.pw"].strip() == password

    # Never again: not on the provisioning pages, the board page, the audit page.
    for page in ("/admin/boards", f"/admin/boards/{board}", f"/boards/{board}", "/audit"):
        shown = admin.get(page)
        assert shown.status_code == 200, page
        assert password not in shown.text, page
    listed = admin.get("/admin/boards?status=pending").text
    assert f'data-board="{board}" data-status="pending"' in listed
    # Its first connection since: connected.
    set_status(db_conn, board, "online", clock.now + timedelta(minutes=1))
    listed = admin.get("/admin/boards?status=connected").text
    assert f'data-board="{board}" data-status="connected"' in listed
    assert password not in dump(db_conn, "boards", "audit_log", "cameras")
    assert db_conn.execute(
        "SELECT actor FROM audit_log WHERE action = 'board.provision' AND target_id = %s",
        (board,),
    ).fetchall() == [("quan.tri",)]


def test_new_credentials_retire_the_old_and_the_board_is_disabled_enabled_and_removed(
    new_browser: NewBrowser,
    db_conn: Any,
    broker: SecureBroker,  # noqa: F811
) -> None:
    operator = new_browser("operator")  # provisions at its organisation's sites
    board = unique("lc-console")
    made = _post(
        operator,
        "/admin/boards",
        "/admin/boards",
        board_id=board,
        site_id=_site(db_conn, "ma-lu-thang"),
        name="Cửa khẩu Ma Lù Thàng 9",
    )
    old = _password(made.text)
    path = f"/admin/boards/{board}"

    unconfirmed = _post(operator, path, f"{path}/rotate", auth="")
    assert unconfirmed.status_code == 400
    assert "Hãy đánh dấu ô xác nhận." in _reason(unconfirmed.text)
    rotated = _post(operator, path, f"{path}/rotate", auth="", confirm="yes")
    assert rotated.status_code == 200
    assert 'data-done="rotated"' in rotated.text
    new = _password(rotated.text)
    assert new != old
    refused = broker.probe(board, board, old)
    assert not refused.connect().ok
    refused.close()
    assert new not in operator.get(path).text

    disabled = _post(operator, path, f"{path}/disable")
    assert disabled.headers["location"] == f"{path}?flash=admin_board_disabled#main"
    page = operator.get(disabled.headers["location"]).text
    assert "máy chủ tin từ chối" in page
    assert 'data-status="disabled"' in page
    enabled = _post(operator, path, f"{path}/enable")
    assert enabled.headers["location"] == f"{path}?flash=admin_board_enabled#main"

    not_ticked = _post(operator, path, f"{path}/remove")
    assert not_ticked.status_code == 400
    removed = _post(operator, path, f"{path}/remove", confirm="yes")
    assert removed.headers["location"] == f"{path}?flash=admin_board_removed#main"
    page = operator.get(removed.headers["location"]).text
    assert 'data-status="removed"' in page
    assert 'id="rotate-form"' not in page
    again = _post(operator, "/admin/boards", "/admin/boards", board_id=board,
                  site_id=_site(db_conn, "ma-lu-thang"), name="Lại")  # fmt: skip
    assert again.status_code == 409
    assert f"Bảng tin {board} đã bị gỡ ngày" in _reason(again.text)
    actions = [
        r[0]
        for r in db_conn.execute(
            "SELECT action FROM audit_log WHERE target_id = %s ORDER BY id", (board,)
        )
    ]
    assert actions == [
        "board.provision",
        "board.rotate_credentials",
        "board.disable",
        "board.enable",
        "board.remove",
    ]


@pytest.mark.parametrize(
    ("fields", "status", "reason"),
    [
        ({"board_id": "bảng tin!"}, 400, "Có ký tự không được phép"),
        ({"site_id": ""}, 400, "Hãy chọn điểm lắp đặt của bảng tin."),
        ({"name": ""}, 400, "Không được để trống"),
        ({"board_id": "lc-ma-lu-thang-01"}, 409, "Đã có bảng tin mã lc-ma-lu-thang-01."),
        ({"board_id": "fleet-admin"}, 422, "Không dùng được mã này cho bảng tin"),
        ({"cameras": "cam1"}, 400, "Dòng 1 cần có mã và tên camera."),
        ({"cameras": "cam1 A\ncam1 B"}, 422, "Một camera được ghi hai lần."),
        ({"heartbeat_interval_s": "2"}, 400, "Phải "),
        ({"installed_on": "30/11/2026"}, 400, "Hãy nhập một ngày (năm-tháng-ngày)."),
        ({"auth": "token"}, 400, "Lựa chọn không hợp lệ."),
    ],
)
def test_a_refused_board_comes_back_with_its_reason(
    new_browser: NewBrowser, db_conn: Any, fields: dict[str, str], status: int, reason: str
) -> None:
    admin = new_browser("admin")
    form = {
        "board_id": unique("lc-refused"),
        "site_id": _site(db_conn, "phong-tho"),
        "name": "Bảng tin thử",
        "auth": "password",
    } | fields
    before = db_conn.execute("SELECT count(*) FROM boards").fetchone()
    answer = _post(admin, "/admin/boards", "/admin/boards", **form)
    assert answer.status_code == status, answer.text
    assert reason in _reason(answer.text)
    assert "Bảng tin thử" in answer.text or not form["name"]  # what was typed, kept
    assert db_conn.execute("SELECT count(*) FROM boards").fetchone() == before


def test_an_operator_provisions_only_at_its_own_sites(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    operator = new_browser("operator")
    form_page = operator.get("/admin/boards").text
    # the picker's short list: the district committee's site is not offered
    assert f"[site:{_site(db_conn, 'phong-tho')}]" not in form_page
    assert f"[site:{_site(db_conn, 'ma-lu-thang')}]" in form_page
    assert "lc-phong-tho-01" not in form_page
    board = unique("lc-elsewhere")
    answer = _post(
        operator,
        "/admin/boards",
        "/admin/boards",
        board_id=board,
        site_id=_site(db_conn, "phong-tho"),
        name="Không phải của mình",
    )
    assert answer.status_code == 404
    assert db_conn.execute("SELECT 1 FROM boards WHERE id = %s", (board,)).fetchone() is None
    assert operator.get("/admin/boards/lc-phong-tho-01").status_code == 404
    refused = _post(operator, "/admin/boards", "/admin/boards/lc-phong-tho-01/disable")
    assert refused.status_code == 404
    for role in ("technician", "viewer", "guard"):
        assert new_browser(role).get("/admin/boards").status_code == 403


def test_a_certificate_board_gets_its_key_and_certificate_once(
    new_browser: NewBrowser, db_conn: Any
) -> None:
    admin = new_browser("admin")
    board = unique("lc-cert")
    answer = _post(
        admin,
        "/admin/boards",
        "/admin/boards",
        board_id=board,
        site_id=_site(db_conn, "phong-tho"),
        name="Bảng tin chứng thư",
        auth="certificate",
    )
    assert answer.status_code == 200, answer.text
    assert 'data-auth="certificate"' in answer.text
    names = re.findall(r' download="([^"]+)"', answer.text)
    assert sorted(names) == ["agent.toml", "board.crt", "board.key", "ca.crt"]
    key = re.search(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^<]+", html.unescape(answer.text))
    assert key is not None
    for page in ("/admin/boards", f"/admin/boards/{board}"):
        assert "PRIVATE KEY" not in admin.get(page).text
    assert "PRIVATE KEY" not in dump(db_conn, "boards", "audit_log")


def test_boards_from_a_csv_file_each_row_reported_and_credentials_shown_once(
    new_browser: NewBrowser,
    db_conn: Any,
    broker: SecureBroker,  # noqa: F811
) -> None:
    admin = new_browser("admin")
    good, bad = unique("lc-csv"), unique("lc-csv")
    text = (
        "board_id,site,name,cameras\n"
        f"{good},phong-tho,Bảng tin từ tệp,cam1:Cổng\n"
        f"{bad},no-such-site,Không có điểm,\n"
    )
    csrf = csrf_of(admin.get("/admin/boards").text)
    answer = admin.post(
        "/admin/boards/import",
        data={"csrf_token": csrf},
        files={"file": ("boards.csv", text.encode(), "text/csv")},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert "Đã thêm 1 bảng tin; 1 dòng không thêm được." in answer.text
    assert re.search(
        r'data-line="3" data-ok="no">.*?Không có điểm lắp đặt no-such-site.', answer.text, re.S
    )
    password = _password(answer.text)
    probe = broker.probe(good, good, password)
    assert probe.connect().ok
    probe.close()
    assert password not in admin.get("/admin/boards").text
    assert password not in dump(db_conn, "boards", "audit_log")

    empty = admin.post("/admin/boards/import", data={"csrf_token": csrf})
    assert empty.status_code == 400
    assert "Hãy chọn tệp CSV." in _reason(empty.text)
    headless = admin.post(
        "/admin/boards/import",
        data={"csrf_token": csrf},
        files={"file": ("x.csv", b"id;where\n1;2\n", "text/csv")},
    )
    assert headless.status_code == 400
    assert "board_id" in _reason(headless.text)  # the missing column, named
