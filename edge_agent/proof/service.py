"""Screen and camera proof on the board: when to take a picture, what to
make of it, and which pictures to upload.

The display and camera collectors ask :class:`Proof` for the check that goes
with their reading; it captures at most every ``proof.screen_interval_s``
(``camera_interval_s`` for each camera) and hands back the last check in
between. The agent asks it for the pictures due — one when a verdict turns
bad (``incident``), one of every source each ``snapshot_interval_s``
(``interval``) — and for one on command. The collectors are rebuilt when the
configuration changes; this object, its history and its budget, are not.

A check never holds the reading that asks for it: a grab takes seconds (a
camera's stream, ``capture.timeout_s`` when it hangs), so a due check is
started on a worker (``workers``) and the reading carries the last check
there is; the next reading carries the new one.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Literal

from edge_agent.config import AgentConfig, CameraConfig
from edge_agent.errors import CollectorError, NotPresent
from edge_agent.proof.budget import PictureBudget, wire_bytes
from edge_agent.proof.grab import (
    Capture,
    CaptureError,
    FbdevSource,
    FileSource,
    Grabber,
    RtspSource,
    Source,
    X11Source,
)
from edge_agent.proof.verdict import CameraTracker, ScreenTracker, bad_verdicts
from edge_agent.proof.workers import CheckWorkers
from fleet_protocol import printable
from fleet_protocol.messages import (
    CameraPicture,
    CameraStatus,
    DisplayData,
    ScreenCheck,
    SnapshotData,
    SnapshotReason,
)

log = logging.getLogger(__name__)

#: at most one incident picture for the same verdict of a source in this long
#: (a flapping verdict)
INCIDENT_PICTURE_EVERY_S = 900.0
_MAX_ERROR = 300

Target = Literal["screen"] | str  # "screen" or a camera id
_Judge = Callable[[Capture], ScreenCheck | CameraPicture]


class BudgetSpent(Exception):
    """The day's picture budget does not allow this picture."""


class _Seen:
    """The last check of one source and when it was taken (monotonic)."""

    def __init__(self) -> None:
        self.at: float | None = None
        self.check: ScreenCheck | CameraPicture | None = None
        self.error: str | None = None
        self.resets = 0  # the source went away: a grab started before lands in vain
        #: when each verdict last brought an incident picture
        self.incident_at: dict[str, float] = {}


class Proof:
    def __init__(
        self,
        config: Callable[[], AgentConfig],
        *,
        grabber: Grabber | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        executor: Executor | None = None,
    ) -> None:
        """``executor``: what runs the checks' grabs (``CheckWorkers``)."""
        self._config = config
        capture = config().capture
        self.grabber = grabber or Grabber(
            capture.ffmpeg,
            capture.timeout_s,
            now=lambda: datetime.fromtimestamp(clock(), UTC),
        )
        self._clock = clock
        self._monotonic = monotonic
        self.budget = PictureBudget(config().proof_state_path, clock)
        #: the readings' threads and the grabs' workers share the trackers and _seen
        self._lock = threading.RLock()
        self.workers = CheckWorkers(self._lock, executor)
        self._screen_tracker = ScreenTracker()
        self._camera_trackers: dict[str, CameraTracker] = {}
        self._seen: dict[str, _Seen] = {}
        self._incidents: list[str] = []  # sources whose picture is owed
        self._credentials: dict[str, tuple[float, bool | None]] = {}
        self._ffmpeg_missing = False

    # -- sources ------------------------------------------------------------------------
    def screen_source(self) -> X11Source | FbdevSource | FileSource | None:
        capture = self._config().capture
        if capture.screen_source == "x11":
            return X11Source(capture.x11_display, capture.xauthority)
        if capture.screen_source == "fbdev":
            return FbdevSource(capture.framebuffer)
        if capture.screen_source == "file" and capture.screen_file is not None:
            return FileSource(capture.screen_file, capture.screen_file_max_age_s, self._clock)
        return None

    def camera_source(self, camera: CameraConfig) -> RtspSource:
        from edge_agent.collectors.camera import display_url, stream_url  # noqa: PLC0415

        host = camera.host.strip("[]")
        return RtspSource(
            url=stream_url(host, camera.rtsp_port, camera.rtsp_path),
            shown=display_url(camera.host, camera.rtsp_port, camera.rtsp_path),
            username=camera.username,
            password=camera.password.get_secret_value() if camera.password else None,
            transport=self._config().capture.rtsp_transport,
            socket_timeout_s=camera.timeout_s,
        )

    def _camera(self, camera_id: str) -> CameraConfig | None:
        return next((c for c in self._config().cameras if c.id == camera_id), None)

    # -- checks that go with the readings -----------------------------------------------
    def screen(self, display: DisplayData) -> DisplayData:
        """``display`` with the screen's check (or why there is none)."""
        source = self.screen_source()
        interval = self._config().proof.screen_interval_s
        if source is None or interval <= 0 or self._ffmpeg_missing:
            return display
        with self._lock:
            seen = self._seen.setdefault("screen", _Seen())
        if self._due("screen", seen, interval):
            # what the player said when the picture was asked for
            item: Hashable | None = None
            if display.content_id is not None or display.content_started_at is not None:
                item = (display.content_id, display.content_started_at)
            proof = self._config().proof
            references = proof.screen_references.get(display.content_sha256 or "")

            def judge(capture: Capture) -> ScreenCheck:
                return self._screen_tracker.judge(
                    capture.grey,
                    capture.captured_at,
                    source=source.kind,
                    item=item,
                    references=references,
                    cfg=proof,
                )

            self._start("screen", "screen", seen, source, judge)
        with self._lock:
            if self._ffmpeg_missing:
                return display
            update = {"screen": seen.check, "screen_error": seen.error}
        return display.model_copy(update=update)

    def camera(self, camera: CameraConfig, status: CameraStatus) -> CameraStatus:
        """``status`` with the camera's picture check and its default-credentials finding."""
        update: dict[str, object] = {}
        finding = self._credentials.get(camera.id)
        if finding is not None:
            update["default_credentials"] = finding[1]
        interval = self._config().proof.camera_interval_s
        if interval <= 0 or self._ffmpeg_missing:
            return status.model_copy(update=update)
        with self._lock:
            seen = self._seen.setdefault(f"camera:{camera.id}", _Seen())
            tracker = self._camera_trackers.setdefault(camera.id, CameraTracker())
            if status.status != "ok":
                # the reading already says why; a picture from before would mislead
                seen.at, seen.check, seen.error = None, None, None
                seen.resets += 1
                return status.model_copy(update=update)
        key = f"camera:{camera.id}"
        if self._due(key, seen, interval):
            proof = self._config().proof
            reference = proof.camera_references.get(camera.id)

            def judge(capture: Capture) -> CameraPicture:
                return tracker.judge(
                    capture.grey, capture.captured_at, reference=reference, cfg=proof
                )

            self._start(key, camera.id, seen, self.camera_source(camera), judge)
        with self._lock:
            if self._ffmpeg_missing:
                return status.model_copy(update=update)
            update |= {"picture": seen.check, "picture_error": seen.error}
        return status.model_copy(update=update)

    def _due(self, key: str, seen: _Seen, interval: float) -> bool:
        with self._lock:
            if self.workers.busy(key):
                return False  # its grab is on its way
            # a little early rather than one whole reading late
            return seen.at is None or self._monotonic() - seen.at >= interval * 0.95

    def _start(self, key: str, name: str, seen: _Seen, source: Source, judge: _Judge) -> None:
        """Grab ``source`` on a worker; its check goes to ``seen`` when taken."""
        at = self._monotonic()  # the next is due an interval after this one started
        resets = seen.resets

        def check() -> None:
            capture, error = None, ""
            try:
                capture = self.grabber.grab(source)
            except NotPresent as exc:
                self._no_ffmpeg(exc)
                return
            except CaptureError as exc:
                error = str(exc)
            except Exception as exc:  # a bug: say it, and look again in an interval
                log.exception("checking %s", name)
                error = f"{type(exc).__name__}: {exc}"
            with self._lock:
                if seen.resets != resets:
                    return  # a picture from before the source went away would mislead
                if capture is None:
                    self._failed(seen, name, error, at)
                else:
                    self._judged(seen, name, judge(capture), at)

        self.workers.start(key, check)

    def close(self) -> None:
        """The agent stops: no more grabs (see ``CheckWorkers.close``)."""
        self.workers.close()

    def _failed(self, seen: _Seen, name: str, error: str, at: float) -> None:
        seen.at, seen.check = at, None
        seen.error = printable(error[:_MAX_ERROR], free=True)
        log.info("no picture of %s: %s", name, seen.error)

    def _judged(
        self, seen: _Seen, target: str, check: ScreenCheck | CameraPicture, at: float
    ) -> None:
        turned_bad = bad_verdicts(check) - (bad_verdicts(seen.check) if seen.check else set())
        seen.at, seen.check, seen.error = at, check, None
        if not turned_bad:
            return
        log.warning("%s: %s", target, ", ".join(sorted(turned_bad)))
        now = self._monotonic()
        fresh = [
            verdict
            for verdict in turned_bad
            if now - seen.incident_at.get(verdict, -INCIDENT_PICTURE_EVERY_S)
            >= INCIDENT_PICTURE_EVERY_S
        ]
        if not fresh:  # the same verdict flapping: one picture is enough
            return
        seen.incident_at.update(dict.fromkeys(fresh, now))
        with self._lock:
            if target not in self._incidents:
                self._incidents.append(target)

    def _no_ffmpeg(self, exc: Exception) -> None:
        with self._lock:
            if not self._ffmpeg_missing:
                log.warning("screen and camera proof off: %s", exc)
            self._ffmpeg_missing = True

    # -- QCVN 135:2024: the makers' default accounts ------------------------------------
    def credentials_due(self, camera_id: str) -> bool:
        every = self._config().capture.default_credentials_every_s
        last = self._credentials.get(camera_id)
        return every > 0 and (last is None or self._monotonic() - last[0] >= every)

    def remember_credentials(self, camera_id: str, finding: bool | None) -> None:
        if finding is None and camera_id in self._credentials:
            # could not tell this time: keep what was found, try again later
            self._credentials[camera_id] = (self._monotonic(), self._credentials[camera_id][1])
            return
        self._credentials[camera_id] = (self._monotonic(), finding)

    # -- pictures -----------------------------------------------------------------------
    def picture(
        self, target: Target, reason: SnapshotReason, request_id: str | None = None
    ) -> SnapshotData:
        """One picture of the screen or a camera, counted against the day's budget.

        Raises CaptureError (NotPresent: no such source), or BudgetSpent."""
        proof = self._config().proof
        if reason != "command" and not self.budget.allows(wire_bytes(0), reason, proof.daily_bytes):
            raise BudgetSpent(
                f"{target}: the day's picture budget ({proof.daily_bytes} bytes) is spent"
            )
        source: Source | None
        if target == "screen":
            source = self.screen_source()
            if source is None:
                raise NotPresent("this board has no screen source (capture.screen_source)")
        else:
            camera = self._camera(target)
            if camera is None:
                raise NotPresent(f"no camera {target!r} on this board")
            source = self.camera_source(camera)
        capture = self.grabber.grab(source, snapshot_width=proof.snapshot_width)
        assert capture.jpeg is not None
        size = wire_bytes(len(capture.jpeg))
        with self._lock:
            if not self.budget.allows(size, reason, proof.daily_bytes):
                raise BudgetSpent(
                    f"{target}: the day's picture budget ({proof.daily_bytes} bytes) is spent"
                )
            self.budget.count(size)
        return _snapshot(capture, target, reason, request_id)

    def pictures(
        self, targets: list[str], reason: SnapshotReason, request_id: str | None = None
    ) -> list[SnapshotData | Exception]:
        """One picture of each target, taken side by side (so that a few
        silent cameras cost one timeout, not one each); for each target its
        picture or why there is none (CaptureError, BudgetSpent)."""
        if not targets:
            return []

        def take(target: str) -> SnapshotData | Exception:
            try:
                return self.picture(target, reason, request_id)
            except (CollectorError, BudgetSpent) as exc:  # NotPresent: no such source
                return exc

        if len(targets) == 1:
            return [take(targets[0])]
        with ThreadPoolExecutor(min(4, len(targets)), thread_name_prefix="picture") as pool:
            return list(pool.map(take, targets))

    def owed(self) -> list[str]:
        """The sources whose incident picture is owed (taken by ``due_pictures``)."""
        with self._lock:
            return list(self._incidents)

    def due_pictures(self) -> list[SnapshotData]:
        """The pictures owed now: incidents first, then the interval's."""
        with self._lock:
            incidents, self._incidents = self._incidents, []
        taken = self.pictures(incidents, "incident")
        interval = self._config().proof.snapshot_interval_s
        if interval > 0 and self._clock() - self.budget.last_interval >= interval:
            self.budget.mark_interval()  # due again in an interval, come what may
            taken += self.pictures(self.sources(), "interval")
        pictures = []
        for result in taken:
            if isinstance(result, SnapshotData):
                pictures.append(result)
            else:
                log.info("picture not taken: %s", result)
        return pictures

    def sources(self) -> list[str]:
        """What this board has a picture of now: "screen" and its cameras' ids
        whose last check worked (a dead source is not tried again for a picture)."""
        targets = []
        if self.screen_source() is not None and self._works("screen"):
            targets.append("screen")
        targets += [c.id for c in self._config().cameras if self._works(f"camera:{c.id}")]
        return targets

    def _works(self, key: str) -> bool:
        with self._lock:
            seen = self._seen.get(key)
            return seen is not None and seen.check is not None


def _snapshot(
    capture: Capture, target: str, reason: SnapshotReason, request_id: str | None
) -> SnapshotData:
    assert capture.jpeg is not None
    assert capture.width is not None
    assert capture.height is not None
    return SnapshotData(
        source="screen" if target == "screen" else "camera",
        camera_id=None if target == "screen" else target,
        reason=reason,
        request_id=request_id,
        captured_at=capture.captured_at.replace(microsecond=0),
        width=capture.width,
        height=capture.height,
        phash=capture.grey.dhash(),
        jpeg=base64.b64encode(capture.jpeg),
    )
