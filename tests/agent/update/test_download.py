"""Resumable downloads against a real HTTP server on 127.0.0.1 that honours Range."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.update.download import download
from fleet_protocol.releases import Manifest, ReleaseRefused
from tests.support.board_process import ReleaseServer

DATA = bytes(range(256)) * 2000  # 512,000 bytes


def _manifest(
    data: bytes = DATA, version: str = "2.0.0", size: int | None = None, sha256: str = ""
) -> Manifest:
    """The fields a download reads (signatures are the protocol tests' business)."""
    return Manifest.model_construct(
        version=version,
        artifact=f"edge-agent-{version}.tar.gz",
        size=len(data) if size is None else size,
        sha256=sha256 or hashlib.sha256(data).hexdigest(),
        created_at="2026-12-07T00:00:00+00:00",
        key_id="0" * 16,
        signature="",
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ReleaseServer]:
    root = tmp_path / "served"
    root.mkdir()
    (root / "edge-agent-2.0.0.tar.gz").write_bytes(DATA)
    server = ReleaseServer(root)
    yield server
    server.close()


def _get(server: ReleaseServer, part: Path, manifest: Manifest, attempts: int = 3) -> Path:
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    return download(
        server.url(manifest.artifact),
        part,
        manifest,
        attempts=attempts,
        wait=wait,
        retry_base_s=0.01,
    )


def test_a_dropped_connection_resumes_where_it_stopped(
    tmp_path: Path, served: ReleaseServer
) -> None:
    served.drop_after = 100_000
    part = tmp_path / "dl" / "edge-agent-2.0.0.tar.gz.part"
    done = _get(served, part, _manifest())
    assert done.read_bytes() == DATA
    assert served.ranges == [None, "bytes=100000-"]
    assert not part.exists()


def test_a_part_left_by_a_restart_is_continued(tmp_path: Path, served: ReleaseServer) -> None:
    part = tmp_path / "edge-agent-2.0.0.tar.gz.part"
    part.write_bytes(DATA[:4096])
    assert _get(served, part, _manifest()).read_bytes() == DATA
    assert served.ranges == ["bytes=4096-"]


def test_a_wrong_sha256_is_refused_and_the_part_removed(
    tmp_path: Path, served: ReleaseServer
) -> None:
    part = tmp_path / "edge-agent-2.0.0.tar.gz.part"
    wrong = _manifest(DATA[:-1] + b"x")
    with pytest.raises(ReleaseRefused, match="sha256 mismatch"):
        _get(served, part, wrong)
    assert not part.exists()
    assert not (tmp_path / "edge-agent-2.0.0.tar.gz").exists()


def test_more_bytes_than_the_manifest_says_are_refused(
    tmp_path: Path, served: ReleaseServer
) -> None:
    part = tmp_path / "edge-agent-2.0.0.tar.gz.part"
    short = _manifest(DATA[:1000])
    with pytest.raises(ReleaseRefused, match="more than the 1000 bytes"):
        _get(served, part, short)


def test_retries_end_in_a_failure_naming_the_last_error(
    tmp_path: Path, served: ReleaseServer
) -> None:
    part = tmp_path / "edge-agent-9.9.9.tar.gz.part"
    with pytest.raises(ReleaseRefused, match=r"download failed after 2 tries: HTTP 404"):
        _get(served, part, _manifest(version="9.9.9"), attempts=2)


def test_not_enough_disk_refused_before_a_byte_is_fetched(
    tmp_path: Path, served: ReleaseServer
) -> None:
    huge = _manifest(size=2**62)
    with pytest.raises(ReleaseRefused, match="disk full"):
        _get(served, tmp_path / "x.part", huge)
    assert served.ranges == []
