"""Resumable download of a release artifact (HTTP Range, urllib).

The bytes go to ``<name>.part``; a dropped connection or a restart of the
agent continues from its size (``Range: bytes=<size>-``). A server that
ignores the range (200 instead of 206) starts the file again. Never more
than the manifest's size is kept, and the disk must hold twice the artifact
(the archive and its unpacked copy) before a byte is fetched.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from fleet_protocol.releases import Manifest, ReleaseRefused

log = logging.getLogger(__name__)
_CHUNK = 64 * 1024
_TIMEOUT_S = 30.0


class DownloadFailed(Exception):
    pass


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_space(where: Path, size: int) -> None:
    free = shutil.disk_usage(where).free
    if free < 2 * size:
        raise ReleaseRefused(f"disk full: {free} bytes free, {2 * size} needed")


def fetch_once(
    url: str, part: Path, size: int, progress: Callable[[int], None] | None = None
) -> None:
    """One try: continue ``part`` from its size up to ``size`` bytes; raise
    DownloadFailed (retry) or ReleaseRefused (the server sends too much)."""
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    if have == size:
        return
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})  # noqa: S310 - http(s) only, checked by the protocol
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_S) as response:  # noqa: S310
            status = response.status
            if status == 200 and have:
                have = 0  # the server ignored the range: from the start
            elif status not in (200, 206):
                raise DownloadFailed(f"HTTP {status}")
            with part.open("r+b" if have else "wb") as out:
                out.seek(have)
                out.truncate()
                while chunk := response.read(_CHUNK):
                    have += len(chunk)
                    if have > size:
                        raise ReleaseRefused(
                            f"the server sent more than the {size} bytes of the manifest"
                        )
                    out.write(chunk)
                    if progress is not None:
                        progress(have)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have == size:
            return
        raise DownloadFailed(f"HTTP {exc.code} from {url[:200]}") from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise DownloadFailed(f"{type(exc).__name__}: {exc}"[:300]) from exc
    if have != size:
        raise DownloadFailed(f"connection ended at {have} of {size} bytes")


def download(
    url: str,
    part: Path,
    manifest: Manifest,
    *,
    attempts: int,
    wait: Callable[[float], bool],
    retry_base_s: float,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """The verified artifact next to ``part`` (``part`` renamed), after up to
    ``attempts`` tries. ``wait(seconds)`` sleeps between tries and returns
    True when the agent stops. ReleaseRefused names why it cannot be had."""
    part.parent.mkdir(parents=True, exist_ok=True)
    check_space(part.parent, manifest.size)
    error = "no attempt"
    for attempt in range(attempts):
        try:
            fetch_once(url, part, manifest.size, progress)
            break
        except DownloadFailed as exc:
            error = str(exc)
            log.warning("download of %s, try %d: %s", manifest.version, attempt + 1, error)
            if attempt + 1 < attempts and wait(min(300.0, retry_base_s * 2**attempt)):
                raise DownloadFailed("agent stopping") from None
    else:
        raise ReleaseRefused(f"download failed after {attempts} tries: {error}")
    digest = sha256_of(part)
    if digest != manifest.sha256:
        part.unlink()
        raise ReleaseRefused(f"sha256 mismatch: got {digest}, the manifest says {manifest.sha256}")
    done = part.with_name(manifest.artifact)
    part.replace(done)
    return done
