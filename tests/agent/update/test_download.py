"""Resumable downloads against a real HTTP server on 127.0.0.1 that honours Range."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge_agent.update.download import download, shown
from edge_agent.usage import DataMeter
from fleet_protocol.releases import Manifest, ReleaseRefused
from fleet_protocol.remote_config import DataBudget
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


def test_the_bytes_fetched_count_against_the_boards_data_usage(
    tmp_path: Path, served: ReleaseServer
) -> None:
    """A release costs the 4G plan what came over the link: a resumed
    download counts both tries' bytes and their headers, once each."""
    served.drop_after = 100_000
    meter = DataMeter(None, DataBudget, tcp_info=True)
    meter.activate()
    try:
        _get(served, tmp_path / "edge-agent-2.0.0.tar.gz.part", _manifest())
    finally:
        meter.close()
    usage = meter.report()
    assert len(DATA) + 2 * 100 < usage.day_received < len(DATA) + 2 * 1_000
    assert 2 * 100 < usage.day_sent < 2 * 600


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


@pytest.mark.parametrize("fault", ["ignore_range", "range_shift"])
def test_a_resume_answered_with_another_range_starts_again_cleanly(
    tmp_path: Path, served: ReleaseServer, fault: str
) -> None:
    # 200 with the whole file, or 206 from another offset than asked: never appended
    if fault == "ignore_range":
        served.ignore_range = True
    else:
        served.range_shift = 100
    part = tmp_path / "edge-agent-2.0.0.tar.gz.part"
    part.write_bytes(DATA[:4096])
    assert _get(served, part, _manifest()).read_bytes() == DATA
    assert served.ranges[0] == "bytes=4096-"


def test_a_server_trickling_bytes_is_given_up_at_the_deadline(
    tmp_path: Path, served: ReleaseServer
) -> None:
    served.trickle_s = 0.01  # 1 KiB every 10 ms: 5 s for the file, each read well in time
    part = tmp_path / "edge-agent-2.0.0.tar.gz.part"
    with pytest.raises(ReleaseRefused, match=r"after 2 tries: too slow: \d+ of 512000 bytes"):
        download(
            served.url("edge-agent-2.0.0.tar.gz"),
            part,
            _manifest(),
            attempts=2,
            wait=lambda _s: False,
            retry_base_s=0.01,
            deadline_s=0.2,
        )
    assert served.ranges[1] is not None  # the second try went on from the first's bytes


def test_redirects_only_on_the_same_host_and_shown_without_secrets(
    tmp_path: Path, served: ReleaseServer
) -> None:
    served.redirects["/old.tar.gz"] = "/edge-agent-2.0.0.tar.gz"
    part = tmp_path / "edge-agent-2.0.0.tar.gz.part"
    moved = download(
        served.url("old.tar.gz"), part, _manifest(), attempts=1, wait=lambda _s: False,
        retry_base_s=0.01,
    )  # fmt: skip
    assert moved.read_bytes() == DATA
    elsewhere = f"http://localhost:{served.port}/edge-agent-2.0.0.tar.gz?token=s3cret"
    served.redirects["/away.tar.gz"] = elsewhere
    served.redirects["/ftp.tar.gz"] = "ftp://127.0.0.1/edge-agent-2.0.0.tar.gz"
    served.redirects["/creds.tar.gz"] = (
        f"http://user:pw1234@127.0.0.1:{served.port}/edge-agent-2.0.0.tar.gz"
    )
    served.ranges.clear()
    for name, fragment in [
        ("away.tar.gz", "another host"),
        ("ftp.tar.gz", "redirect refused"),
        ("creds.tar.gz", "redirect refused"),
    ]:
        with pytest.raises(ReleaseRefused, match=fragment) as caught:
            download(
                served.url(name), tmp_path / "x.part", _manifest(), attempts=3,
                wait=lambda _s: False, retry_base_s=0.01,
            )  # fmt: skip
        assert "pw1234" not in caught.value.reason
        assert "s3cret" not in caught.value.reason
    assert served.ranges == []  # nothing fetched from where it was sent


def test_a_full_disk_fails_at_once_and_gives_the_space_back(
    tmp_path: Path, served: ReleaseServer
) -> None:
    part = tmp_path / "edge-agent-2.0.0.tar.gz.part"
    part.symlink_to("/dev/full")  # every write: ENOSPC
    with pytest.raises(ReleaseRefused, match="disk full while downloading"):
        _get(served, part, _manifest(), attempts=3)
    assert len(served.ranges) == 1  # not retried
    assert not part.exists()
    assert not part.is_symlink()


def test_errors_show_the_url_without_its_secrets() -> None:
    assert shown("https://u:p@cdn.example:8443/a/b.tar.gz?X-Sig=abc#f") == (
        "https://cdn.example:8443/a/b.tar.gz"
    )
    assert shown("http://[::1") == "(unreadable URL)"


def test_a_whole_file_shorter_than_the_manifest_is_refused_without_retries(
    tmp_path: Path, served: ReleaseServer
) -> None:
    longer = _manifest(DATA + b"more")
    with pytest.raises(ReleaseRefused, match="the server's file is 512000 bytes"):
        _get(served, tmp_path / "edge-agent-2.0.0.tar.gz.part", longer, attempts=3)
    assert served.ranges == [None]  # one request: the 4G link is metered
