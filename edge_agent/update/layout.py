"""The release layout on a board: ``releases/<version>/``, ``current`` and
``previous`` links, the stable boot guard in ``bin/``; safe extraction."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from edge_agent.update.settings import UpdateConfig
from fleet_protocol.releases import NAME, ReleaseRefused

if TYPE_CHECKING:
    import tarfile


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


#: an artifact with more entries, or unpacking to more bytes, is a bomb, not a release
MAX_ENTRIES = 20_000
MAX_UNPACKED_BYTES = 512 * 1024 * 1024
#: left free on the disk after unpacking (the spool and the logs live there too)
_DISK_RESERVE = 32 * 1024 * 1024


def _check_member(member: tarfile.TarInfo, top: str) -> None:
    path = PurePosixPath(member.name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise ReleaseRefused(f"unsafe path in the artifact: {member.name[:200]!r}")
    if path.parts[0] != top:
        raise ReleaseRefused(f"artifact entry outside {top}/: {member.name[:200]!r}")
    if not (member.isfile() or member.isdir()) or member.issparse():
        raise ReleaseRefused(
            f"artifact entry {member.name[:200]!r} is a link or device: only files and directories"
        )


def _members(
    tar: tarfile.TarFile, top: str, room: int, max_entries: int, max_bytes: int
) -> list[tarfile.TarInfo]:
    """The entries, checked one by one as they are read: a bomb is refused
    from its headers, before its data is inflated or written."""
    members: list[tarfile.TarInfo] = []
    total = 0
    while (member := tar.next()) is not None:
        _check_member(member, top)
        members.append(member)
        total += member.size
        if len(members) > max_entries:
            raise ReleaseRefused(f"artifact has more than {max_entries} entries")
        if total > max_bytes:
            raise ReleaseRefused(f"artifact unpacks to more than {max_bytes} bytes")
        if total > room:
            raise ReleaseRefused(f"disk full: the artifact unpacks to {total}+ bytes, {room} free")
    return members


def _seal(tree: Path) -> None:
    """Nobody but the owner may change a release: directories 0755 and files
    without group or world write, whatever the umask was."""
    tree.chmod(0o755)
    for entry in tree.rglob("*"):
        if entry.is_dir():
            entry.chmod(0o755)
        else:
            entry.chmod(entry.stat().st_mode & 0o755)


def extract(
    artifact: Path,
    config: UpdateConfig,
    version: str,
    *,
    max_entries: int = MAX_ENTRIES,
    max_bytes: int = MAX_UNPACKED_BYTES,
) -> Path:
    """Unpack ``artifact`` into ``releases/<version>`` (through a temporary
    directory renamed at the end), refusing absolute paths, ``..``, links,
    devices, anything outside ``edge-agent-<version>/`` and bombs (too many
    entries, too many bytes for the limit or the disk); the ``VERSION`` file
    must say ``version`` and ``bin/edge-agent`` must be executable. The
    active release is never unpacked over."""
    import tarfile  # noqa: PLC0415 - only for an update: a board's resident memory (issue 20)

    if version == active_version(config):
        raise ReleaseRefused(f"{version} is the active release: not unpacked over itself")
    top = f"{NAME}-{version}"
    final = config.releases / version
    work = config.releases / f".{version}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(mode=0o700, parents=True)
    config.releases.chmod(stat.S_IMODE(config.releases.stat().st_mode) & 0o755)
    try:
        room = shutil.disk_usage(work).free - _DISK_RESERVE
        with tarfile.open(artifact, "r:gz") as tar:
            members = _members(tar, top, room, max_entries, max_bytes)
            for member in members:
                member.mode = (member.mode | 0o600) & 0o755  # no set-id bits, owner can read
                tar.extract(member, work, set_attrs=True, filter="data")
        unpacked = work / top
        with (unpacked / "VERSION").open("rb") as f:
            found = f.read(64).decode("ascii").strip()
        if found != version:
            raise ReleaseRefused(f"artifact VERSION says {found[:40]!r}, not {version!r}")
        launcher = unpacked / "bin" / "edge-agent"
        if not launcher.is_file() or not launcher.stat().st_mode & 0o100:
            raise ReleaseRefused("artifact has no executable bin/edge-agent")
        _seal(unpacked)
        if final.exists():
            shutil.rmtree(final)
        os.replace(unpacked, final)
    except (tarfile.TarError, OSError, UnicodeDecodeError, EOFError) as exc:
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise ReleaseRefused(f"disk full while unpacking: {exc.strerror}") from None
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
