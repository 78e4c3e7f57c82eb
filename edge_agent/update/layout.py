"""The release layout on a board: ``releases/<version>/``, ``current`` and
``previous`` links, the stable boot guard in ``bin/``; safe extraction."""

from __future__ import annotations

import contextlib
import os
import shutil
import tarfile
from pathlib import Path, PurePosixPath

from edge_agent.update.settings import UpdateConfig
from fleet_protocol.releases import NAME, ReleaseRefused


def active_version(config: UpdateConfig) -> str | None:
    """The version ``current`` points at, or None outside the release layout."""
    try:
        target = os.readlink(config.current)
    except OSError:
        return None
    return PurePosixPath(target).name or None


def point(link: Path, version: str) -> None:
    """Make ``link`` point at ``releases/<version>`` atomically (a new link
    renamed over the old: a power cut leaves one or the other, never none)."""
    tmp = link.with_name(f".{link.name}.tmp")
    tmp.unlink(missing_ok=True)
    os.symlink(f"releases/{version}", tmp)
    os.replace(tmp, link)


def install_guard(config: UpdateConfig, version: str) -> None:
    """Copy the guard of ``version`` to the stable ``bin/edge-agent-guard``."""
    source = config.releases / version / "bin" / "edge-agent-guard"
    if not source.is_file():
        return
    config.guard.parent.mkdir(parents=True, exist_ok=True)
    tmp = config.guard.with_name(".edge-agent-guard.tmp")
    shutil.copyfile(source, tmp)
    tmp.chmod(0o755)
    os.replace(tmp, config.guard)


def _check_member(member: tarfile.TarInfo, top: str) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts:
        raise ReleaseRefused(f"unsafe path in the artifact: {member.name[:200]!r}")
    if path.parts[0] != top:
        raise ReleaseRefused(f"artifact entry outside {top}/: {member.name[:200]!r}")
    if not (member.isfile() or member.isdir()):
        raise ReleaseRefused(
            f"artifact entry {member.name[:200]!r} is a link or device: only files and directories"
        )


def extract(artifact: Path, config: UpdateConfig, version: str) -> Path:
    """Unpack ``artifact`` into ``releases/<version>`` (through a temporary
    directory renamed at the end), refusing absolute paths, ``..``, links,
    devices and anything outside ``edge-agent-<version>/``; the ``VERSION``
    file must say ``version``."""
    top = f"{NAME}-{version}"
    final = config.releases / version
    work = config.releases / f".{version}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        with tarfile.open(artifact, "r:gz") as tar:
            members = tar.getmembers()
            for member in members:
                _check_member(member, top)
            for member in members:
                member.mode = (member.mode | 0o600) & 0o755  # no set-id bits, owner can read
                tar.extract(member, work, set_attrs=True, filter="data")
        unpacked = work / top
        found = (unpacked / "VERSION").read_text(encoding="ascii").strip()
        if found != version:
            raise ReleaseRefused(f"artifact VERSION says {found[:40]!r}, not {version!r}")
        if not (unpacked / "bin" / "edge-agent").is_file():
            raise ReleaseRefused("artifact has no bin/edge-agent")
        if final.exists():
            shutil.rmtree(final)
        os.replace(unpacked, final)
    except (tarfile.TarError, OSError, UnicodeDecodeError, EOFError) as exc:
        raise ReleaseRefused(f"cannot unpack the artifact: {exc}"[:300]) from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return final


def clear_downloads(config: UpdateConfig, keep: frozenset[str] | set[str] = frozenset()) -> None:
    """Remove what earlier downloads left (other versions' ``.part`` files)."""
    if not config.downloads.is_dir():
        return
    for entry in config.downloads.iterdir():
        if entry.name not in keep and entry.is_file():
            entry.unlink(missing_ok=True)


def prune(config: UpdateConfig) -> list[str]:
    """Remove every release but ``current`` and ``previous``; what was removed."""
    keep = {active_version(config)}
    with contextlib.suppress(OSError):
        keep.add(PurePosixPath(os.readlink(config.previous)).name)
    removed = []
    for entry in sorted(config.releases.iterdir()) if config.releases.is_dir() else []:
        if entry.name not in keep and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed
