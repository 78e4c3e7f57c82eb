"""``service_files.store_upload``, the one way a file enters the broadcast
archive (Điều 9.1: "thực hiện việc sao lưu dữ liệu (thông tin tuyên truyền,
thông tin quảng cáo, thời gian đăng phát) phục vụ công tác thanh tra, kiểm
tra"): two uploads of the same file at once, a row whose bytes were lost,
a file inside the caller's own transaction."""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.content.files import LocalStore, StoredFile
from fleet_server.content.service_files import store_upload
from fleet_server.errors import Invalid

Conn = psycopg.Connection[Any]
CLIP = os.urandom(300_000)
SHA = hashlib.sha256(CLIP).hexdigest()


def test_two_uploads_of_one_file_at_once_store_it_once(db_url: str, tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    start = threading.Barrier(2)
    results: list[StoredFile] = []
    errors: list[BaseException] = []

    def upload(name: str) -> None:
        try:
            with psycopg.connect(db_url, autocommit=True) as conn:
                start.wait(10)
                results.append(
                    store_upload(
                        conn, store, io.BytesIO(CLIP), filename=name, media_type=None, actor=name
                    )
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in ("a.mp4", "b.mp4")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(r.created for r in results) == [False, True]
    assert {r.sha256 for r in results} == {SHA}
    with psycopg.connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM content_files").fetchone() == (1,)
        audit = conn.execute(
            "SELECT count(*) FROM audit_log WHERE action = 'content_file.upload'"
        ).fetchone()
        assert audit == (1,)
    assert store.path_of(SHA).read_bytes() == CLIP
    assert list((tmp_path / "tmp").iterdir()) == []


def test_a_row_whose_bytes_were_lost_gets_them_back(db: Conn, tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    first = store_upload(db, store, io.BytesIO(CLIP), filename="a", media_type=None, actor="x")
    store.delete(SHA)
    again = store_upload(db, store, io.BytesIO(CLIP), filename="b", media_type=None, actor="y")
    assert (again.created, again.filename, again.stored_at) == (False, "a", first.stored_at)
    assert store.path_of(SHA).read_bytes() == CLIP


def test_the_expected_hash_must_match(db: Conn, tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(Invalid, match=f"the file's SHA-256 is {SHA}, not {'1' * 64}"):
        store_upload(
            db,
            store,
            io.BytesIO(CLIP),
            filename="a",
            media_type=None,
            actor="x",
            expect_sha256="1" * 64,
        )
    assert store.size(SHA) is None
    assert db.execute("SELECT count(*) FROM content_files").fetchone() == (0,)
    ok = store_upload(
        db,
        store,
        io.BytesIO(CLIP),
        filename="a",
        media_type=None,
        actor="x",
        expect_sha256=SHA.upper(),
    )
    assert ok.created


def submit_then_fail(conn: Conn, store: LocalStore) -> None:
    """A caller's transaction: the file, then its own row, which fails."""
    with conn.transaction():
        store_upload(conn, store, io.BytesIO(CLIP), filename="a", media_type=None, actor="x")
        raise RuntimeError("the submission could not be saved")


def test_a_caller_rolling_back_its_own_transaction_takes_the_row_with_it(
    db_url: str, tmp_path: Path
) -> None:
    """Inside the caller's transaction the upload is a savepoint: if the
    caller's own row fails, neither row stays (the bytes may stay; a later
    upload finds them, and the retention removes them if nothing comes)."""
    store = LocalStore(tmp_path)
    with psycopg.connect(db_url) as conn:
        with pytest.raises(RuntimeError, match="could not be saved"):
            submit_then_fail(conn, store)
        assert conn.execute("SELECT count(*) FROM content_files").fetchone() == (0,)
        again = store_upload(
            conn, store, io.BytesIO(CLIP), filename="b", media_type=None, actor="x"
        )
        conn.commit()
    assert again.created
    assert again.filename == "b"
