"""Display: is the screen on, is the player playing, and what exactly is on air?

The regulation asks for broadcast hours (Điều 8.1), the kind of content
(propaganda / advertising / emergency, Điều 8.2–8.3) and proof of what was
shown (Điều 9.1). The signage player knows that; it publishes its state as
JSON, either in a status file it rewrites at least every 30 s or from a
local HTTP endpoint returning the same object::

    {
      "screen_on": true,
      "player_running": true,
      "content_id": "tuyen-truyen-bien-gioi-2026-03",
      "content_kind": "propaganda",            # propaganda | advertising | emergency
      "content_path": "/var/lib/signage/media/bien-gioi.mp4",
      "content_language": "vi",
      "started_at": "2026-03-02T00:55:00Z"     # when this item started, with a timezone
    }

Every key is optional; unknown keys are ignored so the player can add its
own. The agent hashes ``content_path`` (SHA-256, cached by path, size and
mtime, so a large video is read once) to prove which file was on air.

A status file older than ``max_age_s`` (the player died without saying so),
unreadable or not this JSON is a CollectorError naming the file. When the
source is simply absent (no file yet, endpoint refusing connections) or not
configured, the player's process (``process_name``) decides ``player_running``.

With screen proof (``edge_agent.proof``, ``[capture] screen_source``) every
reading also carries ``screen``: the check of the last picture of the screen,
taken at most every ``proof.screen_interval_s`` (or ``screen_error``).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil
from pydantic import BaseModel, ConfigDict, ValidationError

from edge_agent.collectors.base import Collector
from edge_agent.config import DisplayConfig
from edge_agent.errors import CollectorError, NotPresent
from edge_agent.proof import Proof
from edge_agent.redact import redact
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import TelemetryKind, printable
from fleet_protocol.messages import ContentKind, DisplayData, ScreenCheck

log = logging.getLogger(__name__)

MAX_STATUS_BYTES = 64 * 1024
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z]{2,3})?$")


class PlayerStatus(BaseModel):
    """The player's status object (see the module docstring)."""

    model_config = ConfigDict(extra="ignore")

    screen_on: bool | None = None
    player_running: bool | None = None
    content_id: str | None = None
    content_kind: ContentKind | None = None
    content_path: str | None = None
    content_language: str | None = None
    started_at: datetime | None = None


class ContentHasher:
    """SHA-256 of media files, recomputed only when path, size or mtime change."""

    def __init__(self, max_entries: int = 256) -> None:
        self._cache: dict[str, tuple[int, int, str]] = {}
        self._max_entries = max_entries  # a playlist's worth of files
        self.computed = 0  # how many times a file was actually read (for tests and logs)

    def sha256(self, path: str) -> str | None:
        try:
            stat = os.stat(path)
        except OSError as exc:
            log.warning("content %s cannot be hashed: %s", path, exc.strerror)
            return None
        cached = self._cache.get(path)
        if cached and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached[2]
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as media:
                while chunk := media.read(1024 * 1024):
                    digest.update(chunk)
        except OSError as exc:
            log.warning("content %s cannot be read: %s", path, exc.strerror)
            return None
        self.computed += 1
        self._cache.pop(path, None)
        if len(self._cache) >= self._max_entries:
            del self._cache[next(iter(self._cache))]  # the oldest entry
        self._cache[path] = (stat.st_size, stat.st_mtime_ns, digest.hexdigest())
        return self._cache[path][2]


class _SourceAbsent(Exception):
    """No status yet: the file does not exist or the endpoint refuses connections."""


def _request(url: str) -> urllib.request.Request:
    """A GET for ``url``; ``user:password@`` becomes a Basic header (urllib takes it as host).

    Only http(s): a ``file:`` URL here would let the configuration read any file (ruff S310).
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise CollectorError(f"player status URL {redact(url)} is not http(s)")
    if parts.username is None:
        return urllib.request.Request(url)  # noqa: S310 - scheme checked above
    netloc = parts.netloc.rpartition("@")[2]
    plain = urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    token = base64.b64encode(f"{parts.username}:{parts.password or ''}".encode()).decode()
    return urllib.request.Request(plain, headers={"Authorization": f"Basic {token}"})  # noqa: S310


class DisplayCollector(Collector):
    """Reads the player's status (file or URL), falling back to a process check."""

    kind = TelemetryKind.DISPLAY

    def __init__(
        self,
        cfg: DisplayConfig,
        max_age_s: float = 120.0,
        timeout_s: float = 3.0,
        clock: Callable[[], float] = time.time,
        *,
        proof: Proof | None = None,
    ) -> None:
        self._cfg = cfg
        self._proof = proof
        self._max_age_s = max_age_s
        self._timeout_s = timeout_s
        self._clock = clock
        self.hasher = ContentHasher()
        if cfg.status_url:
            self.backend = f"status url {redact(cfg.status_url)}"
        elif cfg.status_file:
            self.backend = f"status file {cfg.status_file}"
        else:
            self.backend = f"process {cfg.process_name}"
        source = proof.screen_source() if proof is not None else None
        if source is not None:
            self.backend += f" + screen {source.shown}"

    def collect(self) -> DisplayData:
        data = self._collect()
        return data if self._proof is None else self._proof.screen(data)

    def _collect(self) -> DisplayData:
        try:
            status = self._read_status()
        except _SourceAbsent as exc:
            if not self._cfg.process_name:
                raise CollectorError(str(exc)) from None
            log.debug("%s; checking the player process instead", exc)
            status = None
        if status is None:
            if not self._cfg.process_name:
                raise NotPresent("no player status source and no process_name configured")
            return DisplayData(player_running=self.process_running(self._cfg.process_name))
        return self._reading(status)

    def _reading(self, status: PlayerStatus) -> DisplayData:
        running = status.player_running
        if running is None:
            name = self._cfg.process_name
            # Without a process to ask, a fresh status means the player just wrote it.
            running = self.process_running(name) if name else True
        language = (status.content_language or "").lower() or None
        if language and not _LANGUAGE.match(language):
            log.warning("player status: content_language %r is not a language code", language)
            language = None
        return DisplayData(
            screen_on=status.screen_on,
            player_running=running,
            content_id=printable(status.content_id[:128]) if status.content_id else None,
            content_kind=status.content_kind,
            content_sha256=self.hasher.sha256(status.content_path) if status.content_path else None,
            content_language=language,
            content_started_at=status.started_at,
        )

    def _read_status(self) -> PlayerStatus | None:
        if self._cfg.status_url:
            return self._parse(self._fetch(self._cfg.status_url), redact(self._cfg.status_url))
        if self._cfg.status_file:
            return self._parse(self._read_file(self._cfg.status_file), str(self._cfg.status_file))
        return None

    def _read_file(self, path: Path) -> bytes:
        try:
            with open(path, "rb") as status:
                age = self._clock() - os.fstat(status.fileno()).st_mtime
                data = status.read(MAX_STATUS_BYTES + 1)
        except FileNotFoundError:
            raise _SourceAbsent(f"player status file {path} does not exist") from None
        except OSError as exc:
            raise CollectorError(
                f"player status file {path} is unreadable: {exc.strerror}"
            ) from exc
        if age > self._max_age_s:
            raise CollectorError(
                f"player status file {path} is stale: last written {age:.0f}s ago "
                f"(limit {self._max_age_s:g}s)"
            )
        return data

    def _fetch(self, url: str) -> bytes:
        shown, request = redact(url), _request(url)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s) as response:  # noqa: S310
                return bytes(response.read(MAX_STATUS_BYTES + 1))
        except urllib.error.HTTPError as exc:
            raise CollectorError(f"player status {shown} answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ConnectionRefusedError):
                raise _SourceAbsent(f"player status {shown} refuses connections") from None
            raise CollectorError(f"player status {shown} unreachable: {exc.reason}") from None
        except (TimeoutError, OSError) as exc:
            raise CollectorError(f"player status {shown} unreachable: {exc}") from None

    @staticmethod
    def _parse(data: bytes, source: str) -> PlayerStatus:
        if len(data) > MAX_STATUS_BYTES:
            raise CollectorError(f"player status {source} is larger than 64 KiB")
        try:
            raw: Any = json.loads(data)
            status = PlayerStatus.model_validate(raw)
        except (ValueError, ValidationError) as exc:
            problem = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise CollectorError(f"player status {source} is not valid: {problem}") from None
        if status.started_at is not None and status.started_at.tzinfo is None:
            raise CollectorError(f"player status {source}: started_at has no timezone")
        return status

    @staticmethod
    def process_running(name: str) -> bool:
        """Whether a live process is called ``name`` (or runs a script called ``name``)."""
        for proc in psutil.process_iter(["name", "cmdline", "status"]):
            info = proc.info
            if info.get("status") == psutil.STATUS_ZOMBIE:
                continue
            args = info.get("cmdline") or []
            names = {info.get("name")} | {os.path.basename(a) for a in args[:2]}
            if name in names:
                return True
        return False


def simulated_screen(board: SimulatedBoard, at: datetime, same_count: int) -> ScreenCheck:
    """The check a real board would make of what the simulated screen shows."""
    picture = board.screen_picture
    if not board.screen_on or picture == "black":
        return ScreenCheck(
            captured_at=at.replace(microsecond=0),
            phash="0000000000000000",
            luma_mean=1.0,
            luma_stddev=0.3,
            black=True,
            frozen=False,
            source="simulated",
        )
    seed = "stuck" if picture == "frozen" else f"{board.content.content_id}:{at.minute}"
    return ScreenCheck(
        captured_at=at.replace(microsecond=0),
        phash=hashlib.sha256(seed.encode()).hexdigest()[:16],
        luma_mean=round(board.jitter(112.0, 6.0), 1),
        luma_stddev=round(board.jitter(48.0, 4.0), 1),
        black=False,
        frozen=picture == "frozen" and same_count >= 5,
        same_count=same_count if picture == "frozen" else 1,
        source="simulated",
    )


class SimulatedDisplayCollector(Collector):
    """The simulated board's screen and player; content start times come from ``now``."""

    kind = TelemetryKind.DISPLAY
    backend = "simulated"

    def __init__(
        self, board: SimulatedBoard, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._board = board
        self._now = now
        self._playing: str | None = None
        self._started_at: datetime | None = None
        self._same = 0  # readings in a row the frozen screen showed the same picture

    def collect(self) -> DisplayData:
        board = self._board
        board.advance()
        self._same = self._same + 1 if board.screen_picture == "frozen" else 0
        screen = simulated_screen(board, self._now(), max(1, self._same))
        if not board.player_running:
            self._playing = None
            return DisplayData(screen_on=board.screen_on, player_running=False, screen=screen)
        content = board.content
        if self._playing != content.content_id:
            self._playing, self._started_at = content.content_id, self._now()
        return DisplayData(
            screen_on=board.screen_on,
            player_running=True,
            content_id=content.content_id,
            content_kind=content.kind,
            content_sha256=content.sha256,
            content_language=content.language,
            content_started_at=self._started_at,
            screen=screen,
        )
