"""The content page links each approved item to its archived file. Điều 9.1:
"thực hiện việc sao lưu dữ liệu (thông tin tuyên truyền, thông tin quảng
cáo, thời gian đăng phát) phục vụ công tác thanh tra, kiểm tra"."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.content.service_files import store_from_settings, store_upload
from fleet_server.settings import Settings
from tests.server.api.console.test_content_pages import approve
from tests.support.clock import Clock
from tests.support.ports import free_port

NewBrowser = Callable[..., TestClient]
CLIP = b"Bau cu dai bieu Quoc hoi" * 100
SHA = hashlib.sha256(CLIP).hexdigest()


@pytest.fixture
def settings(api_db: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=api_db,
        mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
        data_dir=str(tmp_path / "data"),
    )


@pytest.fixture
def app(api_db: str, clock: Clock, settings: Settings) -> Iterator[FastAPI]:
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)


@pytest.mark.parametrize("role", ["admin", "operator", "viewer"])
def test_an_archived_file_is_a_download_link(
    new_browser: NewBrowser, db_conn: Any, clock: Clock, settings: Settings, role: str
) -> None:
    approve(db_conn, clock, "Bầu cử đại biểu Quốc hội", SHA)
    approve(db_conn, clock, "Chưa có tệp", "c3" * 32)
    store_upload(
        db_conn,
        store_from_settings(settings),
        io.BytesIO(CLIP),
        filename="bau-cu.mp4",
        media_type="video/mp4",
        actor="quan.tri",
    )
    browser = new_browser(role)
    page = browser.get("/content")
    assert page.status_code == 200
    assert f'href="/api/v1/content/files/{SHA}" download>Tải về' in page.text
    assert page.text.count("Chưa lưu tệp") == 2  # "Chưa có tệp" and the seeded clip
    # the console's session is enough to download (a GET: no CSRF token)
    got = browser.get(f"/api/v1/content/files/{SHA}")
    assert got.status_code == 200
    assert got.content == CLIP
