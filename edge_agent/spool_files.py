"""Two small files beside the spool that let it survive a full disk.

``BootFile`` (``<spool>.boot``) holds the highest boot counter ever handed
out. It is rewritten *in place* (same length, ``pwrite`` + ``fsync``), which
needs no new disk blocks on ext4, f2fs or tmpfs: a board whose disk is full
still records a new boot before it uses it, even when SQLite cannot write.

``DiskReserve`` (``<spool>.reserve``) is a file of zeros that takes space
while there is some to spare. When a spool write fails for lack of space the
spool deletes it, which gives SQLite room to delete acknowledged rows, drop
old telemetry and open its WAL — as many databases keep a reserve. It is
made again only when the disk has twice its size free.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

_BOOT_RECORD = 21  # "%020d\n": always the same length, so a rewrite never grows the file


class BootFile:
    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> int | None:
        """The boot counter stored, or None when the file is missing or unreadable."""
        try:
            text = self.path.read_bytes()[:_BOOT_RECORD]
        except OSError:
            return None
        try:
            value = int(text)
        except ValueError:
            return None
        return value if value >= 0 else None

    def write(self, boot: int) -> bool:
        """Store ``boot`` durably; False when the disk refused (logged)."""
        record = b"%020d\n" % boot
        existed = self.path.exists()
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            log.warning("cannot open the boot counter file %s: %s", self.path, exc)
            return False
        try:
            os.pwrite(fd, record, 0)
            os.fsync(fd)
        except OSError as exc:
            log.warning("cannot write the boot counter file %s: %s", self.path, exc)
            if not existed:
                # A half-made file must not pass for a record later.
                with contextlib.suppress(OSError):
                    self.path.unlink()
            return False
        finally:
            os.close(fd)
        if not existed:
            _sync_directory(self.path.parent)
        return True


class DiskReserve:
    def __init__(self, path: Path, size: int) -> None:
        self.path = path
        self.size = size

    @property
    def held(self) -> bool:
        return self.path.exists()

    def release(self) -> bool:
        """Delete the reserve; True when that freed space (it existed)."""
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            log.warning("cannot delete the disk reserve %s: %s", self.path, exc)
            return False
        log.warning("disk full: released the %d-byte spool reserve %s", self.size, self.path)
        return True

    def ensure(self) -> bool:
        """Make the reserve if it is missing and the disk has twice its size
        free; True when it is in place afterwards."""
        if self.size <= 0:
            with contextlib.suppress(OSError):
                self.path.unlink()  # switched off
            return False
        if self.held:
            return True
        try:
            stat = os.statvfs(self.path.parent)
        except OSError:
            return False
        if stat.f_bavail * stat.f_frsize < 2 * self.size:
            return False
        partial = self.path.with_name(self.path.name + ".new")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _allocate(fd, self.size)
                os.fsync(fd)
            finally:
                os.close(fd)
            partial.replace(self.path)
        except OSError as exc:
            log.info("cannot make the disk reserve %s: %s", self.path, exc)
            with contextlib.suppress(OSError):
                partial.unlink()
            return False
        return True


def _allocate(fd: int, size: int) -> None:
    """Real blocks, not a sparse file: a sparse reserve would free nothing."""
    try:
        os.posix_fallocate(fd, 0, size)
        return
    except OSError as exc:
        if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
    chunk = b"\0" * 65536
    written = 0
    while written < size:
        written += os.write(fd, chunk[: size - written])


def _sync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
