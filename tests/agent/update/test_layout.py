"""Unpacking a release: what is refused, and the links switched atomically."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from edge_agent.update import layout
from edge_agent.update.settings import UpdateConfig
from fleet_protocol.releases import ReleaseRefused

TOP = "edge-agent-3.0.0"


def _config(tmp_path: Path) -> UpdateConfig:
    return UpdateConfig(root=tmp_path / "opt", state_path=tmp_path / "update.json")


def _artifact(
    tmp_path: Path, *extra: tarfile.TarInfo, version: str = "3.0.0", launcher_mode: int = 0o755
) -> Path:
    path = tmp_path / "a.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data, mode in [
            (f"{TOP}/VERSION", f"{version}\n".encode(), 0o644),
            (f"{TOP}/bin/edge-agent", b"#!/bin/sh\n", launcher_mode),
        ]:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 1 if kind == tarfile.REGTYPE else 0
    return info


def test_a_good_artifact_lands_in_releases(tmp_path: Path) -> None:
    config = _config(tmp_path)
    final = layout.extract(_artifact(tmp_path), config, "3.0.0")
    assert final == config.releases / "3.0.0"
    assert (final / "VERSION").read_text() == "3.0.0\n"
    assert os.access(final / "bin" / "edge-agent", os.X_OK)
    assert sorted(p.name for p in config.releases.iterdir()) == ["3.0.0"]  # no .tmp left


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        (_member("/etc/passwd"), "unsafe path"),
        (_member(f"{TOP}/../../evil"), "unsafe path"),
        (_member("other/file"), "outside"),
        (_member(f"{TOP}/lib/link", tarfile.SYMTYPE, "/etc/passwd"), "link or device"),
        (_member(f"{TOP}/lib/hard", tarfile.LNKTYPE, f"{TOP}/VERSION"), "link or device"),
        (_member(f"{TOP}/dev", tarfile.CHRTYPE), "link or device"),
        (_member(f"{TOP}/fifo", tarfile.FIFOTYPE), "link or device"),
    ],
)
def test_unsafe_entries_refused_and_nothing_unpacked(
    tmp_path: Path, member: tarfile.TarInfo, fragment: str
) -> None:
    config = _config(tmp_path)
    with pytest.raises(ReleaseRefused, match=fragment):
        layout.extract(_artifact(tmp_path, member), config, "3.0.0")
    assert list(config.releases.iterdir()) == []


def test_a_version_file_that_disagrees_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with pytest.raises(ReleaseRefused, match=r"VERSION says '3\.0\.1'"):
        layout.extract(_artifact(tmp_path, version="3.0.1"), config, "3.0.0")


def test_a_corrupt_archive_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b not gzip at all")
    with pytest.raises(ReleaseRefused, match="cannot unpack"):
        layout.extract(bad, _config(tmp_path), "3.0.0")


def test_links_switch_and_prune_keeps_current_and_previous(tmp_path: Path) -> None:
    config = _config(tmp_path)
    for version in ("1", "2", "3"):
        (config.releases / version).mkdir(parents=True)
    assert layout.active_version(config) is None
    layout.point(config.current, "2")
    layout.point(config.previous, "1")
    layout.point(config.current, "3")
    assert os.readlink(config.current) == "releases/3"
    assert layout.active_version(config) == "3"
    assert layout.prune(config) == ["2"]
    assert sorted(p.name for p in config.releases.iterdir()) == ["1", "3"]


def _bomb(tmp_path: Path, entries: int = 0, declared: int = 0) -> Path:
    """An artifact with ``entries`` more files, or one header claiming
    ``declared`` bytes with no data behind it (what a bomb's headers say)."""
    extra = [_member(f"{TOP}/lib/f{i}") for i in range(entries)]
    if declared:
        huge = _member(f"{TOP}/lib/huge")
        huge.size = declared
        path = _artifact(tmp_path, *extra)
        with tarfile.open(path, "r:gz") as tar:
            kept = [(m, tar.extractfile(m)) for m in tar.getmembers()]
            blobs = [(m, f.read() if f else None) for m, f in kept]
        with tarfile.open(path, "w:gz") as tar:
            for member, data in blobs:
                tar.addfile(member, io.BytesIO(data) if data is not None else None)
            tar.addfile(huge)  # the header only
        return path
    return _artifact(tmp_path, *extra)


@pytest.mark.parametrize(
    ("entries", "declared", "limits", "fragment"),
    [
        (10, 0, {"max_entries": 5}, "more than 5 entries"),
        (0, 2**40, {}, "unpacks to more than"),
        (0, 2**40, {"max_bytes": 2**50}, "disk full"),
    ],
)
def test_a_tar_bomb_is_refused_from_its_headers(
    tmp_path: Path, entries: int, declared: int, limits: dict[str, int], fragment: str
) -> None:
    config = _config(tmp_path)
    with pytest.raises(ReleaseRefused, match=fragment):
        layout.extract(_bomb(tmp_path, entries, declared), config, "3.0.0", **limits)
    assert list(config.releases.iterdir()) == []


def test_nothing_unpacked_is_writable_by_others_whatever_the_umask(tmp_path: Path) -> None:
    config = _config(tmp_path)
    extra = _member(f"{TOP}/lib/pkg/mod.py")
    extra.mode = 0o666
    old = os.umask(0)
    try:
        final = layout.extract(_artifact(tmp_path, extra), config, "3.0.0")
    finally:
        os.umask(old)
    for entry in [config.releases, final, *final.rglob("*")]:
        assert entry.stat().st_mode & 0o022 == 0, entry


def test_a_launcher_that_cannot_run_is_refused_before_the_switch(tmp_path: Path) -> None:
    config = _config(tmp_path)
    with pytest.raises(ReleaseRefused, match="no executable bin/edge-agent"):
        layout.extract(_artifact(tmp_path, launcher_mode=0o644), config, "3.0.0")
    assert list(config.releases.iterdir()) == []


def test_the_active_release_is_never_unpacked_over(tmp_path: Path) -> None:
    config = _config(tmp_path)
    layout.extract(_artifact(tmp_path), config, "3.0.0")
    layout.point(config.current, "3.0.0")
    (config.releases / "3.0.0" / "running").write_text("in use")
    with pytest.raises(ReleaseRefused, match="active release"):
        layout.extract(_artifact(tmp_path), config, "3.0.0")
    assert (config.releases / "3.0.0" / "running").exists()
