"""The broadcast file archive's store (Điều 9.1: "thực hiện việc sao lưu dữ
liệu (thông tin tuyên truyền, thông tin quảng cáo, thời gian đăng phát) phục
vụ công tác thanh tra, kiểm tra"): files kept by their SHA-256, never
overwritten. Domain code only: no SQL, no HTTP.

An upload is first *spooled*: written to a private temporary file while its
SHA-256 is computed, fsynced, and only then *placed* under its hash —
``<root>/sha256/ab/cd/<hash>`` on the local filesystem (a hard link, which
refuses to replace an existing file, then the directory fsynced), or the
object ``<prefix>sha256/ab/cd/<hash>`` in an S3-compatible bucket
(``content/s3.py``). A killed or refused upload leaves at most a temporary
file, never a file under a hash; the retention pass sweeps those older than
a day (``sweep_spool``).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from fleet_server.errors import Invalid, NotFound, RequestError, TooLarge
from fleet_server.private_files import private_directory, private_opener

CHUNK = 1 << 20
#: Default size limit of one file (FLEET_CONTENT_FILES_MAX_BYTES): a few
#: minutes of 1080p video.
DEFAULT_MAX_BYTES = 2 * 1024**3


class StoreUnavailable(RequestError):
    """The file store cannot be written or read (a directory that cannot be
    made, an object store that refuses or cannot be reached); to the API a
    503. The message never carries credentials."""

    status = 503
    kind = "unavailable"


def check_hash(sha256: str) -> str:
    """A hash as a path component: exactly 64 lowercase hex digits (nothing
    that could name another directory)."""
    value = sha256.strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise Invalid("sha256: must be 64 hexadecimal digits (the file's SHA-256)", field="sha256")
    return value


def key_of(sha256: str) -> str:
    """Where a file lives under the store's root: ``sha256/ab/cd/<hash>``."""
    value = check_hash(sha256)
    return f"sha256/{value[:2]}/{value[2:4]}/{value}"


#: ``type/subtype`` (RFC 6838 names), parameters dropped.
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
FILENAME_MAX = 255


def check_media_type(media_type: str | None) -> str:
    """The file's media type, lowercase, without parameters; none given:
    ``application/octet-stream``."""
    value = (media_type or "").split(";")[0].strip().lower()
    if not value:
        return "application/octet-stream"
    if not _MEDIA_TYPE.match(value):
        raise Invalid(
            f"media_type: {value[:60]!r} is not a media type such as video/mp4", field="media_type"
        )
    return value


def check_filename(filename: str | None) -> str:
    """The name the file was uploaded under, for people (the store uses the
    hash): the last path component, without control characters, at most
    255 characters; none given: ``unnamed``."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    if name in ("", ".", ".."):
        return "unnamed"
    return unicodedata.normalize("NFC", name)[:FILENAME_MAX]


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file in the archive (a row of ``content_files``)."""

    sha256: str
    size_bytes: int
    media_type: str
    #: the name it was first uploaded under
    filename: str
    stored_at: datetime
    #: ``local`` or ``s3``
    backend: str
    uploaded_by: str
    #: this upload placed it; False: it was already stored (uploads are idempotent)
    created: bool = False


@dataclass(slots=True)
class Spooled:
    """An upload written to a temporary file and hashed: not yet in the store."""

    path: Path
    sha256: str
    size_bytes: int

    def discard(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _chunks(stream: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    read = getattr(stream, "read", None)
    if read is None:
        yield from stream
        return
    while chunk := read(CHUNK):
        yield chunk


def spool(stream: BinaryIO | Iterable[bytes], directory: Path, max_bytes: int) -> Spooled:
    """Copy ``stream`` (a binary file or an iterable of byte chunks) into a new
    private file in ``directory``, hashing as it goes, and fsync it. Refuses
    an empty file (Invalid) and one over ``max_bytes`` (TooLarge); on any
    failure the temporary file is removed."""
    private_directory(directory)
    path = directory / f"upload-{secrets.token_hex(8)}.part"
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "wb", opener=private_opener) as out:
            for chunk in _chunks(stream):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge(
                        f"file: larger than the limit of {max_bytes:,} bytes"
                        " (FLEET_CONTENT_FILES_MAX_BYTES)",
                        limit_bytes=max_bytes,
                    )
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise Invalid("file: is empty", field="file")
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        raise
    return Spooled(path, digest.hexdigest(), size)


class FileStore(Protocol):
    """What the archive needs of a backend. ``backend`` is recorded with each
    file (``local`` or ``s3``); ``max_bytes`` limits one file."""

    backend: str
    max_bytes: int

    def spool(self, stream: BinaryIO | Iterable[bytes]) -> Spooled:
        """The upload in a temporary file, hashed (see :func:`spool`)."""
        ...

    def put(self, spooled: Spooled) -> bool:
        """Place a spooled file under its hash; False when a file is already
        there (it is never replaced). The temporary file is consumed."""
        ...

    def size(self, sha256: str) -> int | None:
        """The stored file's size, or None when it is not in the store."""
        ...

    def read(self, sha256: str) -> Iterator[bytes]:
        """The file's bytes in chunks; NotFound when it is not stored."""
        ...

    def delete(self, sha256: str) -> bool:
        """Remove the file; False when it was not there."""
        ...

    def sweep_spool(self) -> int:
        """Remove temporary files older than a day (killed uploads)."""
        ...


class LocalStore:
    """Files on the local filesystem under ``root`` (mode 0700 directories,
    0600 files), the default: ``<FLEET_DATA_DIR>/content-files``."""

    backend = "local"

    def __init__(self, root: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    @property
    def spool_dir(self) -> Path:
        """Temporary files, on the same filesystem as the store (a link, not
        a copy, places them)."""
        return self.root / "tmp"

    def path_of(self, sha256: str) -> Path:
        return self.root / key_of(sha256)

    def spool(self, stream: BinaryIO | Iterable[bytes]) -> Spooled:
        try:
            private_directory(self.root)
            private_directory(self.spool_dir)
        except OSError as exc:
            raise StoreUnavailable(
                f"the content file store {self.root} cannot be used: {exc.strerror}"
                " (FLEET_DATA_DIR, FLEET_CONTENT_FILES_DIR)"
            ) from exc
        return spool(stream, self.spool_dir, self.max_bytes)

    def put(self, spooled: Spooled) -> bool:
        target = self.path_of(spooled.sha256)
        try:
            for directory in (target.parent.parent.parent, target.parent.parent, target.parent):
                private_directory(directory)
            try:
                # link(2) never replaces an existing name: two uploads of the
                # same file at once place it once, and a stored file is never
                # overwritten.
                os.link(spooled.path, target)
            except FileExistsError:
                return False
            _fsync_dir(target.parent)
            return True
        finally:
            spooled.discard()

    def size(self, sha256: str) -> int | None:
        try:
            return self.path_of(sha256).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, sha256: str) -> Iterator[bytes]:
        try:
            handle = self.path_of(sha256).open("rb")
        except FileNotFoundError:
            raise NotFound("content file", sha256) from None
        return _read_closing(handle)

    def delete(self, sha256: str) -> bool:
        path = self.path_of(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True

    def sweep_spool(self) -> int:
        return sweep_spool(self.spool_dir)


def sweep_spool(directory: Path, older_than_s: float = 86_400.0) -> int:
    """Remove temporary files of uploads killed mid-way (older than a day:
    an upload in progress is younger); how many were removed."""
    removed = 0
    cutoff = time.time() - older_than_s
    with contextlib.suppress(FileNotFoundError):
        for path in directory.iterdir():
            if path.name.endswith(".part") and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _read_closing(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def _fsync_dir(path: Path) -> None:
    """Make a new or removed name durable (the file's own fsync does not)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sha256_of_chunks(chunks: Iterable[bytes]) -> tuple[str, int]:
    """The SHA-256 and size of a stream (to verify a stored or copied file)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size
