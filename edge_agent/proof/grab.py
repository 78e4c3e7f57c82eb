"""Taking one picture with ffmpeg (Debian's ``ffmpeg``): from the X server
(x11grab), the framebuffer (fbdev), a file the player writes (its screenshot
hook) or a camera's RTSP stream.

One ffmpeg run per picture writes a 64 × 36 grey frame to its stdout and,
only when a picture is to be uploaded, a JPEG of ``snapshot_width`` pixels
beside it (``-filter_complex split``). A JPEG over ``MAX_SNAPSHOT_BYTES`` is
encoded again with a coarser quality, then at half the width, until it fits.

Credentials: an RTSP URL with user name and password never appears in an
argument list (any local user can read ``/proc/<pid>/cmdline``): ffmpeg
reads it from its stdin, as the one entry of an ``ffconcat`` list. What
ffmpeg prints is redacted (``edge_agent.redact``, and the password itself
removed) before it reaches an error or a log line.

Every run has a deadline and its own process group, killed whole on timeout.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from edge_agent.errors import CollectorError, NotPresent
from edge_agent.proof.frame import GREY_HEIGHT, GREY_WIDTH, GreyFrame
from edge_agent.redact import redact
from fleet_protocol.messages import MAX_SNAPSHOT_BYTES

log = logging.getLogger(__name__)

#: ffmpeg's -q:v for a JPEG (2 best … 31 worst): the first try, then coarser ones
_QUALITIES = (5, 9, 15, 23, 31)
_MAX_HEIGHT = 1080  # the protocol's bound on a snapshot's height
_ERROR_CHARS = 300


class CaptureError(CollectorError):
    """No picture could be taken; the message is safe to show and send (redacted)."""


# --------------------------------------------------------------------------- sources


@dataclass(frozen=True)
class X11Source:
    """The X server's root window (X11, Xvfb), ``display`` like ``:0``."""

    display: str = ":0"
    xauthority: Path | None = None
    kind: Literal["x11"] = "x11"

    @property
    def shown(self) -> str:
        return f"x11 {self.display}"

    def input_args(self) -> list[str]:
        return ["-f", "x11grab", "-draw_mouse", "0", "-i", self.display]

    def environment(self) -> dict[str, str]:
        env = {"DISPLAY": self.display}
        if self.xauthority is not None:
            env["XAUTHORITY"] = str(self.xauthority)
        return env


@dataclass(frozen=True)
class FbdevSource:
    """The Linux framebuffer (a board without X: a console or DRM player)."""

    device: Path = Path("/dev/fb0")
    kind: Literal["fbdev"] = "fbdev"

    @property
    def shown(self) -> str:
        return f"fbdev {self.device}"

    def input_args(self) -> list[str]:
        return ["-f", "fbdev", "-i", str(self.device)]

    def environment(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class FileSource:
    """A picture the player writes itself (its screenshot hook), PNG or JPEG.

    A file older than ``max_age_s`` is refused: a player that stopped writing
    it would otherwise look like a frozen screen."""

    path: Path
    max_age_s: float = 300.0
    clock: Callable[[], float] = field(default=time.time, compare=False)
    kind: Literal["file"] = "file"

    @property
    def shown(self) -> str:
        return f"file {self.path}"

    def input_args(self) -> list[str]:
        try:
            age = self.clock() - self.path.stat().st_mtime
        except FileNotFoundError:
            raise CaptureError(f"{self.shown}: the player has not written it") from None
        except OSError as exc:
            raise CaptureError(f"{self.shown}: {exc.strerror}") from None
        if age > self.max_age_s:
            raise CaptureError(
                f"{self.shown}: stale, last written {age:.0f}s ago (limit {self.max_age_s:g}s)"
            )
        # "file:" so that a name like "pipe:1" or "http:x" is read as a file
        return ["-i", f"file:{self.path}"]

    def environment(self) -> dict[str, str]:
        return {}


@dataclass(frozen=True)
class RtspSource:
    """A camera's stream; ``url`` has no user info (see ``camera.stream_url``)."""

    url: str
    shown: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    transport: Literal["auto", "udp", "tcp"] = "auto"
    socket_timeout_s: float = 5.0
    kind: Literal["rtsp"] = "rtsp"

    def input_args(self) -> list[str]:
        return [
            "-f",
            "concat",
            "-safe",
            "0",
            "-protocol_whitelist",
            "pipe,rtsp,rtp,udp,tcp",
            "-i",
            "pipe:0",
        ]

    def stdin(self) -> bytes:
        """The ffconcat list naming the stream (credentials in it, never in argv)."""
        url = self.url
        if self.username is not None:
            userinfo = quote(self.username, safe="")
            if self.password:
                userinfo += ":" + quote(self.password, safe="")
            scheme, rest = url.split("://", 1)
            url = f"{scheme}://{userinfo}@{rest}"
        lines = ["ffconcat version 1.0", f"file '{url.replace(chr(39), '%27')}'"]
        lines.append(f"option timeout {int(self.socket_timeout_s * 1_000_000)}")
        # what the stream holds is known from its SDP and first frames: 2 s of
        # it, not ffmpeg's 5 s default (a board waits for every picture)
        lines.append("option analyzeduration 2000000")
        if self.transport != "auto":
            lines.append(f"option rtsp_transport {self.transport}")
        return ("\n".join(lines) + "\n").encode()

    def environment(self) -> dict[str, str]:
        return {}

    def scrub(self, text: str) -> str:
        """``text`` without the URL's user info, the password or the list's name."""
        text = redact(text).removeprefix("pipe:0: ").replace("pipe:0", self.shown)
        for secret in (self.password, quote(self.password or "", safe="")):
            if secret and len(secret) >= 3:
                text = text.replace(secret, "***")
        return text


Source = X11Source | FbdevSource | FileSource | RtspSource


# --------------------------------------------------------------------------- capture


@dataclass(frozen=True, slots=True)
class Capture:
    captured_at: datetime
    grey: GreyFrame
    jpeg: bytes | None = None
    width: int | None = None
    height: int | None = None
    #: CPU seconds ffmpeg used (user + system), for the benchmark
    cpu_s: float = 0.0


class Grabber:
    """Runs ffmpeg for one picture at a time, each within ``timeout_s``."""

    def __init__(
        self,
        ffmpeg: str = "ffmpeg",
        timeout_s: float = 10.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ffmpeg = ffmpeg
        self.timeout_s = timeout_s
        self._now = now
        #: the argument list of the last run (tests check no secret is in it)
        self.last_argv: list[str] = []

    def grab(self, source: Source, *, snapshot_width: int | None = None) -> Capture:
        """One picture from ``source``: its grey frame, and a JPEG when
        ``snapshot_width`` is given. Raises CaptureError (NotPresent without ffmpeg)."""
        captured_at = self._now()
        stdin = source.stdin() if isinstance(source, RtspSource) else None
        with tempfile.TemporaryDirectory(prefix="fleet-proof-") as workdir:
            jpeg_path = Path(workdir) / "snapshot.jpg"
            argv = [self.ffmpeg, "-hide_banner", "-loglevel", "error", "-y"]
            argv += source.input_args()
            argv += _outputs(jpeg_path if snapshot_width else None, snapshot_width or 0)
            stdout, cpu_s = self._run(argv, source, stdin)
            expected = GREY_WIDTH * GREY_HEIGHT
            if len(stdout) < expected:
                raise CaptureError(f"{_shown(source)}: ffmpeg gave no picture")
            grey = GreyFrame(GREY_WIDTH, GREY_HEIGHT, stdout[:expected])
            if not snapshot_width:
                return Capture(captured_at, grey, cpu_s=cpu_s)
            jpeg = jpeg_path.read_bytes() if jpeg_path.exists() else b""
            if not jpeg:
                raise CaptureError(f"{_shown(source)}: ffmpeg wrote no JPEG")
            jpeg = self._fit(jpeg, jpeg_path, source)
        width, height = jpeg_size(jpeg)
        return Capture(captured_at, grey, jpeg, width, height, cpu_s)

    def _fit(self, jpeg: bytes, path: Path, source: Source) -> bytes:
        """The JPEG encoded again, coarser then smaller, until it is under the limit."""
        scale = 1.0
        while len(jpeg) > MAX_SNAPSHOT_BYTES:
            for quality in _QUALITIES[1:]:
                argv = [self.ffmpeg, "-hide_banner", "-loglevel", "error", "-i", f"file:{path}"]
                if scale < 1.0:
                    argv += ["-vf", f"scale=trunc(iw*{scale}/2)*2:-2"]
                argv += ["-frames:v", "1", "-q:v", str(quality), "-f", "mjpeg", "pipe:1"]
                smaller, _ = self._run(argv, source, None)
                if len(smaller) <= MAX_SNAPSHOT_BYTES:
                    return smaller
            scale /= 2
            if scale < 0.1:
                raise CaptureError(f"{_shown(source)}: no JPEG under {MAX_SNAPSHOT_BYTES} bytes")
        return jpeg

    def _run(self, argv: list[str], source: Source, stdin: bytes | None) -> tuple[bytes, float]:
        self.last_argv = list(argv)
        before = os.times()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env={**os.environ, "LC_ALL": "C", "LANG": "C", **source.environment()},
                start_new_session=True,
            )
        except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
            raise NotPresent(f"{self.ffmpeg} is not installed or not executable") from exc
        try:
            stdout, stderr = proc.communicate(stdin, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.communicate(timeout=2)
            raise CaptureError(f"{_shown(source)}: no picture within {self.timeout_s:g}s") from None
        after = os.times()
        cpu_s = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        if proc.returncode != 0:
            raise CaptureError(_failure(source, stderr, proc.returncode))
        return stdout, cpu_s


def _outputs(jpeg_path: Path | None, width: int) -> list[str]:
    grey = f"scale={GREY_WIDTH}:{GREY_HEIGHT}:flags=area,format=gray"
    if jpeg_path is None:
        return ["-frames:v", "1", "-vf", grey, "-f", "rawvideo", "pipe:1"]
    picture = (
        # never larger than the source: an upscaled picture is bytes for nothing
        f"scale=w='min(iw,{width})':h='min(ih,{_MAX_HEIGHT})':force_original_aspect_ratio=decrease"
        ":force_divisible_by=2:flags=area,format=yuvj420p"
    )
    return [
        "-filter_complex",
        f"[0:v]split=2[g0][j0];[g0]{grey}[g];[j0]{picture}[j]",
        "-map",
        "[g]",
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "pipe:1",
        "-map",
        "[j]",
        "-frames:v",
        "1",
        "-q:v",
        str(_QUALITIES[0]),
        "-f",
        "image2",
        str(jpeg_path),
    ]


def _shown(source: Source) -> str:
    return source.shown


def _failure(source: Source, stderr: bytes, returncode: int) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    said = lines[-1] if lines else f"ffmpeg exit status {returncode}"
    if isinstance(source, RtspSource):
        said = source.scrub(said)
        if "401" in said:
            said = "the camera refused the credentials (401 Unauthorized)"
        elif "does not contain any stream" in said:
            said = "the stream sent no video"
    text = f"{source.shown}: {redact(said)}"
    return text[:_ERROR_CHARS]


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


_SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD})


def jpeg_size(jpeg: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's start-of-frame segment."""
    if jpeg[:2] != b"\xff\xd8":
        raise CaptureError("ffmpeg wrote something that is not a JPEG")
    at = 2
    while at + 9 <= len(jpeg):
        if jpeg[at] != 0xFF:
            at += 1
            continue
        marker = jpeg[at + 1]
        if marker in _SOF_MARKERS:
            height = int.from_bytes(jpeg[at + 5 : at + 7], "big")
            width = int.from_bytes(jpeg[at + 7 : at + 9], "big")
            return width, height
        if marker == 0xFF or 0xD0 <= marker <= 0xD9 or marker == 0x01:
            at += 2 if marker != 0xFF else 1
            continue
        at += 2 + int.from_bytes(jpeg[at + 2 : at + 4], "big")
    raise CaptureError("a JPEG without a frame header")
