"""Resumable download of a release artifact (HTTP Range, urllib).

The bytes go to ``<name>.part``; a dropped connection or a restart of the
agent continues from its size (``Range: bytes=<size>-``). A server that
ignores the range (200 instead of 206) or answers another range starts the
file again. Never more than the manifest's size is kept, and the disk must
hold twice the artifact (the archive and its unpacked copy) before a byte is
fetched. One try ends at its deadline however slowly the bytes trickle in.
Redirects are followed on the same host only, never to a plain-http
downgrade: the board fetches from where the server said. URLs in errors are
shown without credentials, query or fragment (a pre-signed URL's token).
"""

from __future__ import annotations

import errno
import hashlib
import logging
import re
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from http.client import HTTPMessage
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from edge_agent.usage import count_http
from fleet_protocol.releases import Manifest, ReleaseRefused

log = logging.getLogger(__name__)
_CHUNK = 64 * 1024
_TIMEOUT_S = 30.0
_CONTENT_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15}|\*)$")
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


class DownloadFailed(Exception):
    pass


def shown(url: str) -> str:
    """``url`` as it may appear in a log or an event: scheme, host, port, path."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(unreadable URL)"
    return f"{parts.scheme}://{host}{port}{parts.path}"[:200]


class _SameHostRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def redirect_request(  # noqa: PLR0917 - urllib's signature
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
        old, new = urlsplit(req.full_url), urlsplit(newurl)
        if (
            new.scheme not in ("http", "https")
            or (old.scheme, new.scheme) == ("https", "http")
            or "@" in new.netloc  # credentials: never sent, never kept
        ):
            raise ReleaseRefused(f"redirect refused: {shown(req.full_url)} to {shown(newurl)}")
        if (new.hostname or "").lower() != (old.hostname or "").lower():
            raise ReleaseRefused(
                f"redirect to another host refused: {shown(req.full_url)} to {shown(newurl)}"
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


_OPENER = urllib.request.build_opener(_SameHostRedirects)


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


def _resume_at(response: Any, have: int, size: int) -> int:
    """Where the body of ``response`` starts in the file: ``have``, or 0 when
    the server sent the whole file; DownloadFailed (start again) for a range
    other than the one asked; ReleaseRefused for a file of another size."""
    if response.status == 200:
        length = response.headers.get("Content-Length")
        if length is not None and length.isdigit() and int(length) > size:
            raise ReleaseRefused(
                f"the server sends {length} bytes, more than the {size} bytes of the manifest"
            )
        if length is not None and length.isdigit() and int(length) < size:
            # the whole file, and not the manifest's: no retry makes it longer
            raise ReleaseRefused(f"the server's file is {length} bytes, the manifest says {size}")
        return 0
    if response.status != 206:
        raise DownloadFailed(f"HTTP {response.status}")
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range") or "")
    if match is None or int(match[1]) != have:
        raise DownloadFailed(
            f"asked for bytes from {have}, the server sent"
            f" {str(response.headers.get('Content-Range'))[:60]!r}: starting again"
        )
    if match[3] != "*" and int(match[3]) != size:
        raise ReleaseRefused(f"the server's file is {match[3]} bytes, the manifest says {size}")
    return have


def fetch_once(
    url: str,
    part: Path,
    size: int,
    progress: Callable[[int], None] | None = None,
    *,
    deadline_s: float = 3600.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """One try: continue ``part`` from its size up to ``size`` bytes within
    ``deadline_s``; raise DownloadFailed (retry) or ReleaseRefused (the server
    sends too much, redirects elsewhere; the disk is full)."""
    ends = clock() + deadline_s
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        part.unlink()
        have = 0
    if have == size:
        return
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})  # noqa: S310 - http(s) only, checked by the protocol
    try:
        with _OPENER.open(request, timeout=min(_TIMEOUT_S, deadline_s)) as response:
            # the 4G budget: the request and the response's headers, then every chunk
            count_http(_headers_bytes(response.headers), _request_bytes(request))
            try:
                have = _resume_at(response, have, size)
            except DownloadFailed:
                part.unlink(missing_ok=True)  # the next try asks from the start
                raise
            # have is the size of part (resumed) or 0 (whole file): append or start afresh
            with part.open("ab" if have else "wb") as out:
                while chunk := response.read1(_CHUNK):
                    count_http(len(chunk))
                    have += len(chunk)
                    if have > size:
                        raise ReleaseRefused(
                            f"the server sent more than the {size} bytes of the manifest"
                        )
                    _write(out, chunk, part)
                    if progress is not None:
                        progress(have)
                    if clock() > ends and have < size:
                        raise DownloadFailed(
                            f"too slow: {have} of {size} bytes after {deadline_s:g} s"
                        )
    except urllib.error.HTTPError as exc:
        count_http(_headers_bytes(exc.headers), _request_bytes(request))
        if exc.code == 416 and have == size:
            return
        raise DownloadFailed(f"HTTP {exc.code} from {shown(url)}") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise DownloadFailed(f"{type(exc).__name__} from {shown(url)}: {reason}"[:300]) from None
    if have != size:
        raise DownloadFailed(f"connection ended at {have} of {size} bytes")


def _request_bytes(request: urllib.request.Request) -> int:
    """What a GET costs on the link, as far as urllib tells: its request line
    and headers (urllib adds Host, User-Agent, Connection and Accept-Encoding)."""
    line = len(request.get_method()) + len(request.selector) + len(" HTTP/1.1\r\n") + 1
    added = 120  # Host, User-Agent, Connection: close, Accept-Encoding: identity
    return line + added + sum(len(k) + len(v) + 4 for k, v in request.header_items()) + 2


def _headers_bytes(headers: Message | None) -> int:
    """A response's status line and headers."""
    if headers is None:
        return 0
    return len("HTTP/1.1 206 Partial Content\r\n") + len(headers.as_bytes())


def _write(out: IO[bytes], chunk: bytes, part: Path) -> None:
    try:
        out.write(chunk)
        out.flush()  # a full disk shows here, not at close
    except OSError as exc:
        if exc.errno in _DISK_FULL:
            part.unlink(missing_ok=True)  # give the space back
            raise ReleaseRefused(f"disk full while downloading: {exc.strerror}") from None
        raise


def download(
    url: str,
    part: Path,
    manifest: Manifest,
    *,
    attempts: int,
    wait: Callable[[float], bool],
    retry_base_s: float,
    deadline_s: float = 3600.0,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """The verified artifact next to ``part`` (``part`` renamed), after up to
    ``attempts`` tries of ``deadline_s`` each. ``wait(seconds)`` sleeps between
    tries and returns True when the agent stops. ReleaseRefused names why it
    cannot be had."""
    part.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    part.parent.chmod(0o700)  # the artifact waits here between its check and its unpacking
    check_space(part.parent, manifest.size)
    error = "no attempt"
    for attempt in range(attempts):
        try:
            fetch_once(url, part, manifest.size, progress, deadline_s=deadline_s)
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
