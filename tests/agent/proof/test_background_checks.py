"""The checks' grabs run off the readings: a reading never waits for ffmpeg.

A stub grabber stands in for ffmpeg so that a grab takes exactly as long as
the test says (it blocks on an event); the proof, the verdicts, the display
collector and the worker threads are the real ones."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge_agent.collectors.display import DisplayCollector
from edge_agent.config import AgentConfig, CameraConfig, DisplayConfig, load_config
from edge_agent.errors import NotPresent
from edge_agent.proof import Capture, CaptureError, Grabber, GreyFrame, Proof
from edge_agent.proof.frame import GREY_HEIGHT, GREY_WIDTH
from edge_agent.proof.grab import RtspSource, Source
from fleet_protocol.messages import CameraStatus
from tests.support.wait import wait_for

BLACK = GreyFrame(GREY_WIDTH, GREY_HEIGHT, bytes(GREY_WIDTH * GREY_HEIGHT))
LIVE = GreyFrame(
    GREY_WIDTH,
    GREY_HEIGHT,
    bytes((x * 4 + y * 7) % 256 for y in range(GREY_HEIGHT) for x in range(GREY_WIDTH)),
)


class StubGrabber(Grabber):
    """Each grab waits for the test to hand it its outcome (a frame or an
    error), the screen's and the cameras' apart."""

    def __init__(self) -> None:
        super().__init__(timeout_s=30)
        self.started = threading.Semaphore(0)
        self.grabs = 0
        self.running = 0
        self._outcomes: dict[str, list[GreyFrame | Exception]] = {"screen": [], "camera": []}
        self._ready = threading.Condition()

    def grab(self, source: Source, *, snapshot_width: int | None = None) -> Capture:
        outcomes = self._outcomes["camera" if isinstance(source, RtspSource) else "screen"]
        with self._ready:
            self.grabs += 1
            self.running += 1
            self.started.release()
            # a hung camera; a reading that waited for it would fail the test, not hang it
            got = self._ready.wait_for(lambda: outcomes, timeout=self.timeout_s)
            self.running -= 1
            if not got:
                raise CaptureError(f"{source.shown}: no picture within {self.timeout_s:g}s")
            outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return Capture(datetime.now(UTC), outcome)

    def finish(self, outcome: GreyFrame | Exception, of: str = "screen") -> None:
        with self._ready:
            self._outcomes[of].append(outcome)
            self._ready.notify_all()

    def wait_started(self) -> None:
        assert self.started.acquire(timeout=10), "no grab started"


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def board(tmp_path: Path) -> AgentConfig:
    return load_config(
        None,
        device_id="lc-mlt-01",
        spool_path=tmp_path / "spool.db",
        capture={"screen_source": "x11", "x11_display": ":42"},
        cameras=[{"id": "cong-tinh", "host": "192.0.2.10"}],
        proof={"snapshot_interval_s": 0},
    )


@pytest.fixture
def stub() -> Iterator[StubGrabber]:
    grabber = StubGrabber()
    yield grabber
    for of in ("screen", "camera"):  # a grab still waiting ends
        grabber.finish(CaptureError("the test is over"), of)


def player_status(tmp_path: Path) -> Path:
    status = tmp_path / "status.json"
    status.write_text(
        json.dumps({"screen_on": True, "player_running": True, "content_id": "bien-gioi"})
    )
    return status


def test_a_hung_grab_does_not_hold_the_reading(tmp_path: Path, stub: StubGrabber) -> None:
    config = board(tmp_path)
    ticks = Ticks()
    proof = Proof(lambda: config, grabber=stub, monotonic=ticks)
    collector = DisplayCollector(
        DisplayConfig(status_file=player_status(tmp_path), process_name=None), proof=proof
    )
    try:
        # the first check is due: its grab starts, the reading has none yet
        first = collector.collect()
        stub.wait_started()
        assert stub.running == 1  # the reading came back while its grab was still on
        assert (first.screen, first.screen_error) == (None, None)
        assert first.player_running is True

        stub.finish(BLACK)
        wait_for(lambda: not proof.workers.busy("screen"), 10, "the grab to land")
        black = collector.collect().screen  # the next reading carries it
        assert black is not None
        assert black.black is True
        assert proof.owed() == ["screen"]  # judged on the worker: its incident picture is owed

        # the next check is due and its grab hangs: the readings go on with the last check
        ticks.now += config.proof.screen_interval_s
        during = [collector.collect() for _ in range(3)]
        stub.wait_started()
        assert stub.running == 1
        assert [d.screen for d in during] == [black] * 3
        assert stub.grabs == 2  # one grab in flight per source, however many readings

        # the camera's own grab is not queued behind the screen's
        camera = config.cameras[0]
        ok = CameraStatus(camera_id=camera.id, reachable=True, rtsp_answered=True, status="ok")
        assert proof.camera(camera, ok).picture is None
        stub.wait_started()
        assert stub.running == 2

        stub.finish(CaptureError("x11 :42: no picture within 10s"))
        stub.finish(LIVE, "camera")
        wait_for(lambda: not proof.workers.busy("screen"), 10, "the screen's grab to land")
        wait_for(lambda: not proof.workers.busy("camera:cong-tinh"), 10, "the camera's grab")
        after = collector.collect()
        assert (after.screen, after.screen_error) == (None, "x11 :42: no picture within 10s")
        picture = proof.camera(camera, ok).picture
        assert picture is not None
        assert (picture.black, picture.covered) == (False, False)
        assert stub.grabs == 3  # neither was due again
    finally:
        proof.close()


def test_a_picture_is_judged_with_the_item_on_air_when_its_grab_started(
    tmp_path: Path, stub: StubGrabber
) -> None:
    """Each grab starts while the player says "bien-gioi" and lands after it
    said another item: the same picture with the same item on air at every
    grab is a still slide, never frozen (judged with the items the readings
    said later, it would be)."""
    config = board(tmp_path)
    ticks = Ticks()
    proof = Proof(lambda: config, grabber=stub, monotonic=ticks)
    status = tmp_path / "status.json"
    collector = DisplayCollector(DisplayConfig(status_file=status, process_name=None), proof=proof)

    def says(content_id: str) -> None:
        status.write_text(json.dumps({"screen_on": True, "content_id": content_id}))

    try:
        for n in range(4):
            ticks.now += config.proof.screen_interval_s
            says("bien-gioi")
            collector.collect()  # due: the grab starts
            stub.wait_started()
            says(f"quang-cao-{n}")  # the player moved on before the picture was taken
            assert collector.collect().content_id == f"quang-cao-{n}"
            stub.finish(LIVE)
            wait_for(lambda: not proof.workers.busy("screen"), 10, "the grab to land")
        check = collector.collect().screen
        assert check is not None
        assert (check.same_count, check.frozen) == (4, False)
        assert stub.grabs == 4
    finally:
        proof.close()


def test_the_next_check_is_due_an_interval_after_the_last_grab_started(
    tmp_path: Path, stub: StubGrabber
) -> None:
    """A grab that takes a while does not push the schedule back: a camera
    checked every interval whose grab takes most of it is still grabbed at
    every reading an interval on (not at every other one)."""
    config = board(tmp_path)
    ticks = Ticks()
    proof = Proof(lambda: config, grabber=stub, monotonic=ticks)
    camera = config.cameras[0]
    ok = CameraStatus(camera_id=camera.id, reachable=True, rtsp_answered=True, status="ok")
    interval = config.proof.camera_interval_s
    try:
        for grabs in (1, 2, 3):
            proof.camera(camera, ok)
            stub.wait_started()
            ticks.now += interval * 0.8  # the grab lands late in the interval
            stub.finish(LIVE, "camera")
            wait_for(lambda: not proof.workers.busy("camera:cong-tinh"), 10, "the grab to land")
            assert stub.grabs == grabs
            ticks.now += interval * 0.2  # the next reading
        proof.camera(camera, ok)
        stub.wait_started()
        assert stub.grabs == 4
        stub.finish(LIVE, "camera")
        wait_for(lambda: not proof.workers.busy("camera:cong-tinh"), 10, "the grab to land")
    finally:
        proof.close()


def test_a_grab_from_before_the_camera_went_away_lands_in_vain(
    tmp_path: Path, stub: StubGrabber
) -> None:
    config = board(tmp_path)
    proof = Proof(lambda: config, grabber=stub)
    camera = config.cameras[0]
    ok = CameraStatus(camera_id=camera.id, reachable=True, rtsp_answered=True, status="ok")
    gone = CameraStatus(camera_id=camera.id, reachable=False, rtsp_answered=False, status="timeout")
    try:
        proof.camera(camera, ok)
        stub.wait_started()
        assert proof.camera(camera, gone).picture is None  # the stream goes away meanwhile
        stub.finish(LIVE, "camera")
        wait_for(lambda: not proof.workers.busy("camera:cong-tinh"), 10, "the grab to land")
        back = proof.camera(camera, ok)  # back: a new grab, not the picture from before
        assert back.picture is None
        stub.wait_started()
        assert stub.grabs == 2
        stub.finish(LIVE, "camera")
        wait_for(lambda: not proof.workers.busy("camera:cong-tinh"), 10, "the grab to land")
        assert proof.camera(camera, ok).picture is not None
    finally:
        proof.close()


def test_no_ffmpeg_turns_proof_off_from_the_worker(tmp_path: Path, stub: StubGrabber) -> None:
    config = board(tmp_path)
    proof = Proof(lambda: config, grabber=stub)
    camera: CameraConfig = config.cameras[0]
    ok = CameraStatus(camera_id=camera.id, reachable=True, rtsp_answered=True, status="ok")
    try:
        assert proof.camera(camera, ok).picture_error is None
        stub.wait_started()
        stub.finish(NotPresent("ffmpeg: not found"), "camera")
        wait_for(lambda: not proof.workers.busy("camera:cong-tinh"), 10, "the grab to land")
        later = proof.camera(camera, ok)
        assert (later.picture, later.picture_error) == (None, None)
        assert stub.grabs == 1  # and never tried again
    finally:
        proof.close()


def test_closing_leaves_a_hung_grab_to_its_deadline_and_starts_no_more(
    tmp_path: Path, stub: StubGrabber
) -> None:
    config = board(tmp_path)
    ticks = Ticks()
    proof = Proof(lambda: config, grabber=stub, monotonic=ticks)
    collector = DisplayCollector(
        DisplayConfig(status_file=player_status(tmp_path), process_name=None), proof=proof
    )
    collector.collect()
    stub.wait_started()
    proof.workers.close(wait_s=0.05)  # the agent stops; it does not wait for the hung grab
    assert proof.workers.busy("screen")
    stub.finish(LIVE)
    wait_for(lambda: not proof.workers.busy("screen"), 10, "the grab to land")
    ticks.now += config.proof.screen_interval_s
    late = collector.collect()  # a check is due, but the workers are closed: no grab, no error
    assert late.screen is not None
    assert not proof.workers.busy("screen")
    assert stub.grabs == 1
