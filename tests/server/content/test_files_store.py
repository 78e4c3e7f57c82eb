"""The broadcast file archive's local store. Điều 9.1: "thực hiện việc sao
lưu dữ liệu (thông tin tuyên truyền, thông tin quảng cáo, thời gian đăng
phát) phục vụ công tác thanh tra, kiểm tra" — the files are kept by their
SHA-256, written atomically, never overwritten, limited in size."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_server.content.files import (
    LocalStore,
    StoreUnavailable,
    check_filename,
    check_media_type,
    key_of,
)
from fleet_server.errors import Invalid, NotFound, TooLarge

CLIP = b"\x00\x00\x00\x18ftypmp42" + b"video" * 50_000
CLIP_SHA = hashlib.sha256(CLIP).hexdigest()


def files_under(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def test_a_file_is_stored_under_its_hash_privately(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "files")
    spooled = store.spool(io.BytesIO(CLIP))
    assert (spooled.sha256, spooled.size_bytes) == (CLIP_SHA, len(CLIP))
    assert store.put(spooled) is True
    path = tmp_path / "files" / "sha256" / CLIP_SHA[:2] / CLIP_SHA[2:4] / CLIP_SHA
    assert path.read_bytes() == CLIP
    assert files_under(tmp_path / "files") == [f"sha256/{CLIP_SHA[:2]}/{CLIP_SHA[2:4]}/{CLIP_SHA}"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert store.size(CLIP_SHA) == len(CLIP)
    assert b"".join(store.read(CLIP_SHA)) == CLIP


def test_the_same_file_again_is_not_rewritten(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert store.put(store.spool([CLIP[:1000], CLIP[1000:]])) is True
    inode = store.path_of(CLIP_SHA).stat().st_ino
    assert store.put(store.spool(io.BytesIO(CLIP))) is False
    assert store.path_of(CLIP_SHA).stat().st_ino == inode
    assert list((tmp_path / "tmp").iterdir()) == []  # the second copy's temp file is gone


def test_a_stored_file_is_never_overwritten_even_by_other_bytes(tmp_path: Path) -> None:
    """If a file somehow sits under a hash (it cannot by this code), a new
    upload with that hash does not replace it."""
    store = LocalStore(tmp_path)
    spooled = store.spool(io.BytesIO(b"the real bytes"))
    target = store.path_of(spooled.sha256)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"already here")
    assert store.put(spooled) is False
    assert target.read_bytes() == b"already here"


def test_the_hash_is_computed_from_the_bytes_written(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    chunks = [os.urandom(100_000) for _ in range(5)]
    spooled = store.spool(chunks)
    assert spooled.sha256 == hashlib.sha256(b"".join(chunks)).hexdigest()
    assert spooled.path.read_bytes() == b"".join(chunks)


def test_over_the_size_limit_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    store = LocalStore(tmp_path, max_bytes=1024)
    with pytest.raises(TooLarge, match="larger than the limit of 1,024 bytes"):
        store.spool(io.BytesIO(b"x" * 1025))
    assert files_under(tmp_path) == []
    assert store.spool(io.BytesIO(b"x" * 1024)).size_bytes == 1024  # the limit itself is fine


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match="file: is empty"):
        LocalStore(tmp_path).spool(io.BytesIO(b""))
    assert files_under(tmp_path) == []


def test_an_upload_killed_midway_leaves_no_file(tmp_path: Path) -> None:
    """The connection drops after the first chunk: no file under any hash,
    no temporary file."""

    def dropped() -> Iterator[bytes]:
        yield CLIP[:4096]
        raise ConnectionResetError("client went away")

    store = LocalStore(tmp_path)
    with pytest.raises(ConnectionResetError):
        store.spool(dropped())
    assert files_under(tmp_path) == []


def test_a_process_killed_before_placing_leaves_only_a_temp_file_swept_later(
    tmp_path: Path,
) -> None:
    """A temp file a killed process left is never under a hash; the sweep
    removes those older than a day."""
    store = LocalStore(tmp_path)
    spooled = store.spool(io.BytesIO(CLIP))  # spooled, then the process dies
    assert store.size(CLIP_SHA) is None
    assert store.sweep_spool() == 0  # still young: an upload may be in progress
    old = spooled.path.stat().st_mtime - 2 * 86_400
    os.utime(spooled.path, (old, old))
    assert store.sweep_spool() == 1
    assert files_under(tmp_path) == []


def test_bad_hashes_never_become_paths(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    for bad in ("../" * 21 + "x", "g" * 64, "a" * 63, "a" * 65, "", "a" * 62 + "/."):
        with pytest.raises(Invalid, match="64 hexadecimal digits"):
            key_of(bad)
        with pytest.raises(Invalid):
            store.read(bad)
    with pytest.raises(NotFound):
        store.read("0" * 64)
    assert store.delete("0" * 64) is False


def test_delete_removes_the_file(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.put(store.spool(io.BytesIO(CLIP)))
    assert store.delete(CLIP_SHA) is True
    assert store.size(CLIP_SHA) is None


def test_an_unusable_root_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StoreUnavailable, match="cannot be used"):
        LocalStore(blocker / "files").spool(io.BytesIO(CLIP))


def test_names_and_media_types_are_cleaned() -> None:
    assert check_filename("C:\\Users\\a\\Phòng cháy.mp4") == "Phòng cháy.mp4"
    assert check_filename("../../etc/passwd") == "passwd"
    assert check_filename("a\x00b\nc.mp4") == "abc.mp4"
    assert check_filename(None) == "unnamed"
    assert check_filename("..") == "unnamed"
    assert len(check_filename("x" * 1000)) == 255
    assert check_media_type("Video/MP4; codecs=avc1") == "video/mp4"
    assert check_media_type(None) == "application/octet-stream"
    for bad in ("video", "video/", "<script>/x", "a b/c"):
        with pytest.raises(Invalid, match="media_type"):
            check_media_type(bad)
