"""``fleet-server content files put|get|retention|stats``: the broadcast file
archive from the command line. Điều 9.1: "thực hiện việc sao lưu dữ liệu
(thông tin tuyên truyền, thông tin quảng cáo, thời gian đăng phát) phục vụ
công tác thanh tra, kiểm tra"."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import psycopg
import pytest

from fleet_server.cli import main

Conn = psycopg.Connection[Any]
CLIP = b"clip of the border gate" * 500
SHA = hashlib.sha256(CLIP).hexdigest()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> Path:
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FLEET_CONTENT_FILES_MAX_BYTES", "20000")
    clip = tmp_path / "cua-khau.mp4"
    clip.write_bytes(CLIP)
    return clip


def test_put_get_stats_and_a_dry_retention(
    env: Path, db: Conn, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["content", "files", "put", str(env), "--media-type", "video/mp4"]) == 0
    assert capsys.readouterr().out.startswith(f"stored: {SHA} 11.2 KiB video/mp4")
    assert main(["content", "files", "put", str(env)]) == 0
    assert capsys.readouterr().out.startswith(f"already in the archive: {SHA}")
    [(who, filename)] = db.execute("SELECT uploaded_by, filename FROM content_files").fetchall()
    assert who.startswith("system:cli:")
    assert filename == "cua-khau.mp4"

    out = tmp_path / "copy.mp4"
    assert main(["content", "files", "get", SHA, "--out", str(out)]) == 0
    assert out.read_bytes() == CLIP

    assert main(["content", "files", "stats"]) == 0
    assert capsys.readouterr().out.strip().endswith("1 files, 11.2 KiB (local)")
    assert main(["content", "files", "retention", "--dry-run"]) == 0
    assert "would remove 0 files" in capsys.readouterr().out

    assert main(["content", "files", "verify"]) == 0
    assert "intact" in capsys.readouterr().out
    stored = tmp_path / "data" / "content-files" / "sha256" / SHA[:2] / SHA[2:4] / SHA
    stored.write_bytes(b"bit rot")
    assert main(["content", "files", "verify"]) == 1
    assert capsys.readouterr().out == (
        f"{SHA}: the stored bytes no longer match the hash (7 bytes)\n"
    )
    stored.unlink()
    assert main(["content", "files", "verify"]) == 1
    assert capsys.readouterr().out == f"{SHA}: missing from the store\n"


def test_refusals_name_the_problem(
    env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(b"x" * 20_001)
    assert main(["content", "files", "put", str(big)]) == 1
    assert "larger than the limit of 20,000 bytes" in capsys.readouterr().err
    assert main(["content", "files", "put", str(tmp_path / "missing.mp4")]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert main(["content", "files", "get", "0" * 64]) == 1
    assert "not found" in capsys.readouterr().err
    assert main(["content", "files", "get", "not-a-hash"]) == 1
    assert "64 hexadecimal digits" in capsys.readouterr().err
