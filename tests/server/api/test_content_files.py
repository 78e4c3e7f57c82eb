"""/api/v1/content/files: the broadcast file archive. Điều 9.1: "thực hiện
việc sao lưu dữ liệu (thông tin tuyên truyền, thông tin quảng cáo, thời gian
đăng phát) phục vụ công tác thanh tra, kiểm tra" — who may upload and
download, idempotent uploads, rejections that name the problem, audit."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from psycopg_pool import ConnectionPool

from fleet_server.api.app import create_app
from fleet_server.settings import Settings
from tests.server.api.conftest import Conn
from tests.support.clock import Clock
from tests.support.ports import free_port

CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 400
SHA = hashlib.sha256(CLIP).hexdigest()
URL = "/api/v1/content/files"
LIMIT = 200_000


@pytest.fixture
def app(api_db: str, clock: Clock, tmp_path: Path) -> Iterator[FastAPI]:
    """The API with its file store under the test's directory and a small
    size limit."""
    settings = Settings(
        database_url=api_db,
        mqtt_url=f"mqtt://127.0.0.1:{free_port()}",
        data_dir=str(tmp_path / "data"),
        content_files_max_bytes=LIMIT,
    )
    with ConnectionPool(api_db, min_size=1, max_size=4, open=True) as pool:
        yield create_app(settings, clock=clock, pool=pool, broker_check=lambda: None)


def raw(who: Any, url: str, content: Any, media_type: str) -> Any:
    """A raw-body upload with its media type as Content-Type."""
    return who.client.post(
        url, content=content, headers={**who.headers, "Content-Type": media_type}
    )


def stored_path(tmp_path: Path, sha: str) -> Path:
    return tmp_path / "data" / "content-files" / "sha256" / sha[:2] / sha[2:4] / sha


def test_admin_uploads_a_raw_body_and_it_is_audited(
    as_: Any, db_conn: Conn, tmp_path: Path
) -> None:
    answer = raw(as_("admin"), f"{URL}?filename=phong-chay-rung.mp4", CLIP, "video/mp4")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["sha256"], body["size_bytes"], body["media_type"]) == (SHA, len(CLIP), "video/mp4")
    assert (body["filename"], body["backend"], body["uploaded_by"]) == (
        "phong-chay-rung.mp4",
        "local",
        "quan.tri",
    )
    assert body["created"] is True
    assert answer.headers["location"] == f"{URL}/{SHA}"
    assert stored_path(tmp_path, SHA).read_bytes() == CLIP
    [(actor, target, after)] = db_conn.execute(
        "SELECT actor, target_id, after FROM audit_log WHERE action = 'content_file.upload'"
    ).fetchall()
    assert (actor, target, after["size_bytes"]) == ("quan.tri", SHA, len(CLIP))


def test_the_same_file_twice_is_idempotent(as_: Any, db_conn: Conn) -> None:
    first = as_("admin").post(f"{URL}?filename=a.mp4", content=CLIP)
    again = as_("admin").post(
        URL, files={"file": ("another-name.mp4", CLIP, "video/mp4")}, data={"media_type": ""}
    )
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["created"] is False
    assert again.json()["filename"] == "a.mp4"  # the first record stays
    assert db_conn.execute("SELECT count(*) FROM content_files").fetchone() == (1,)
    assert db_conn.execute(
        "SELECT count(*) FROM audit_log WHERE action = 'content_file.upload'"
    ).fetchone() == (1,)


def test_a_multipart_upload_links_to_the_registry_item(as_: Any, clock: Clock) -> None:
    approved = as_("admin").post(
        "/api/v1/content",
        json={
            "title": "Bầu cử",
            "kind": "propaganda",
            "language": "vi",
            "sha256": SHA,
            "valid_from": clock().isoformat(),
        },
    )
    assert approved.status_code == 201, approved.text
    answer = as_("admin").post(URL, files={"file": ("bau-cu.mp4", CLIP, "video/mp4")})
    assert answer.status_code == 201, answer.text
    assert answer.json()["content_id"] == approved.json()["id"]
    assert answer.json()["media_type"] == "video/mp4"


def test_readers_download_and_head(as_: Any) -> None:
    raw(as_("admin"), f"{URL}?filename=Phòng cháy.mp4", CLIP, "video/mp4")
    for role in ("operator", "viewer", "province"):
        got = as_(role).get(f"{URL}/{SHA.upper()}")
        assert got.status_code == 200, (role, got.text)
        assert got.content == CLIP
        assert got.headers["content-type"] == "video/mp4"
        assert got.headers["etag"] == f'"{SHA}"'
        assert got.headers["repr-digest"] == (
            f"sha-256=:{base64.b64encode(bytes.fromhex(SHA)).decode()}:"
        )
        assert got.headers["content-disposition"] == (
            "attachment; filename*=UTF-8''Ph%C3%B2ng%20ch%C3%A1y.mp4"
        )
        assert got.headers["content-security-policy"].startswith("sandbox")
    head = as_("viewer").client.head(f"{URL}/{SHA}", headers=as_("viewer").headers)
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len(CLIP))
    assert head.content == b""


@pytest.mark.parametrize("role", ["operator", "viewer", "technician", "guard"])
def test_only_approvers_upload(as_: Any, role: str) -> None:
    answer = as_(role).post(URL, content=CLIP)
    assert answer.status_code == 403
    assert "content.approve" in answer.json()["detail"]


@pytest.mark.parametrize("role", ["technician", "guard"])
def test_roles_without_the_registry_cannot_download(as_: Any, role: str) -> None:
    as_("admin").post(URL, content=CLIP)
    assert as_(role).get(f"{URL}/{SHA}").status_code == 403


def test_anonymous_is_401(client: TestClient) -> None:
    assert client.post(URL, content=CLIP).status_code == 401
    assert client.get(f"{URL}/{SHA}").status_code == 401


def test_too_large_is_413_and_leaves_nothing(as_: Any, db_conn: Conn, tmp_path: Path) -> None:
    big = b"x" * (LIMIT + 1)
    answer = as_("admin").post(URL, content=big)
    assert answer.status_code == 413
    assert "larger than the limit of 200,000 bytes" in answer.json()["detail"]

    def chunked() -> Iterator[bytes]:  # no Content-Length: refused while streaming
        for _ in range(4):
            yield b"y" * (LIMIT // 2)

    streamed = as_("admin").post(URL, content=chunked())
    assert streamed.status_code == 413
    form = as_("admin").post(URL, files={"file": ("big.mp4", big, "video/mp4")})
    assert form.status_code == 413
    assert db_conn.execute("SELECT count(*) FROM content_files").fetchone() == (0,)
    root = tmp_path / "data" / "content-files"
    assert [p for p in root.rglob("*") if p.is_file()] == []


def test_rejections_name_the_problem(as_: Any) -> None:
    admin = as_("admin")
    empty = admin.post(URL, content=b"")
    assert empty.status_code == 400
    assert empty.json()["errors"] == [{"field": "file", "message": "file: is empty"}]
    no_file = admin.post(URL, files={"other": ("a", b"x")})
    assert no_file.status_code == 400
    assert "form field 'file'" in no_file.json()["detail"]
    media = raw(admin, URL, CLIP, "mp4")
    assert media.status_code == 400
    assert media.json()["errors"][0]["field"] == "media_type"
    wrong = admin.post(f"{URL}?sha256={'0' * 64}", content=CLIP)
    assert wrong.status_code == 400
    assert f"the file's SHA-256 is {SHA}" in wrong.json()["detail"]
    for bad in ("g" * 64, "../" + "a" * 61, "a" * 63):
        got = admin.get(f"{URL}/{bad}")
        assert got.status_code in (400, 404, 422), (bad, got.status_code)
        assert got.headers["content-type"] == "application/problem+json"
    unsized = admin.client.post(
        URL,
        content=iter([b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\nx\r\n--b--\r\n"]),
        headers={**admin.headers, "Content-Type": "multipart/form-data; boundary=b"},
    )
    assert unsized.status_code == 411
    assert "needs a Content-Length" in unsized.json()["detail"]
    missing = admin.get(f"{URL}/{'0' * 64}")
    assert missing.status_code == 404
    assert admin.client.head(f"{URL}/{'0' * 64}", headers=admin.headers).status_code == 404
