"""Hash, luminance and verdicts on crafted grey frames; the day's picture budget."""

from __future__ import annotations

import random
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.collectors.camera import SimulatedCameraCollector
from edge_agent.collectors.display import SimulatedDisplayCollector
from edge_agent.proof import (
    GREY_HEIGHT,
    GREY_WIDTH,
    CameraTracker,
    GreyFrame,
    PictureBudget,
    RtspSource,
    ScreenTracker,
    bad_verdicts,
    dhash,
    hamming,
    wire_bytes,
)
from edge_agent.proof.grab import CaptureError, jpeg_size
from edge_agent.simulation import SimulatedBoard
from fleet_protocol.messages import CameraPicture, ScreenCheck
from fleet_protocol.remote_config import ProofConfig

AT = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
CFG = ProofConfig(frozen_after=3)


def frame(value: int | None = None, *, pattern: str = "", seed: int = 0) -> GreyFrame:
    """A flat frame of ``value``, or a pattern: "left" (dark left half), "top",
    "noise" (random), "gradient"."""
    pixels = bytearray()
    rng = random.Random(seed)
    for y in range(GREY_HEIGHT):
        for x in range(GREY_WIDTH):
            if value is not None:
                pixels.append(value)
            elif pattern == "left":
                pixels.append(20 if x < GREY_WIDTH // 2 else 220)
            elif pattern == "top":
                pixels.append(20 if y < GREY_HEIGHT // 2 else 220)
            elif pattern == "gradient":
                pixels.append(x * 4)
            else:
                pixels.append(rng.randrange(256))
    return GreyFrame(GREY_WIDTH, GREY_HEIGHT, bytes(pixels))


def test_luminance_of_a_flat_and_a_split_frame() -> None:
    assert frame(93).luma() == (93.0, 0.0)
    mean, stddev = frame(pattern="left").luma()
    assert (mean, stddev) == (120.0, 100.0)


def test_hash_of_flat_pictures_is_zero_and_of_patterns_far_apart() -> None:
    assert dhash(frame(0)) == dhash(frame(200)) == "0000000000000000"
    gradient = dhash(frame(pattern="gradient"))
    assert gradient == "0000000000000000"  # brighter to the right: no left > right
    reversed_gradient = GreyFrame(
        GREY_WIDTH, GREY_HEIGHT, bytes(255 - p for p in frame(pattern="gradient").pixels)
    )
    assert dhash(reversed_gradient) == "ffffffffffffffff"
    noise_a, noise_b = dhash(frame(seed=1)), dhash(frame(seed=2))
    assert 16 <= hamming(noise_a, noise_b) <= 48  # unrelated pictures: about half the bits
    assert hamming(noise_a, noise_a) == 0


def test_a_small_change_moves_the_hash_a_little() -> None:
    base = frame(seed=3)
    touched = bytearray(base.pixels)
    for i in range(0, 40):  # a clock in a corner changes
        touched[i] = (touched[i] + 128) % 256
    assert hamming(dhash(base), dhash(GreyFrame(GREY_WIDTH, GREY_HEIGHT, bytes(touched)))) <= 8


def test_a_frame_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="bytes for a 64"):
        GreyFrame(GREY_WIDTH, GREY_HEIGHT, b"\0" * 100)


def screen(
    tracker: ScreenTracker,
    picture: GreyFrame,
    item: Hashable | None,
    n: int = 0,
    references: list[str] | None = None,
) -> ScreenCheck:
    return tracker.judge(
        picture,
        AT + timedelta(minutes=n),
        source="x11",
        item=item,
        references=references,
        cfg=CFG,
    )


def test_screen_black() -> None:
    check = screen(ScreenTracker(), frame(3), None)
    assert (check.black, check.frozen, check.luma_mean, check.luma_stddev) == (True, False, 3, 0)
    assert not screen(ScreenTracker(), frame(40), None).black  # dark grey is not black
    assert not screen(ScreenTracker(), frame(pattern="left"), None).black


def test_screen_frozen_only_while_the_player_changes_items() -> None:
    tracker = ScreenTracker()
    still = frame(seed=11)
    # the same slide for a long time, the player says the same item: not frozen
    checks = [screen(tracker, still, ("slide-1", AT), n) for n in range(6)]
    assert [c.same_count for c in checks] == [1, 2, 3, 4, 5, 6]
    assert not any(c.frozen for c in checks)
    # the player moved on to the next item, the picture did not: frozen
    check = screen(tracker, still, ("video-2", AT + timedelta(minutes=6)), 6)
    assert check.frozen
    assert bad_verdicts(check) == {"frozen"}
    # the picture changes: no longer frozen, the run starts again
    check = screen(tracker, frame(seed=12), ("video-2", AT), 7)
    assert (check.frozen, check.same_count) == (False, 1)


def test_screen_without_the_players_word_is_never_frozen() -> None:
    tracker = ScreenTracker()
    checks = [screen(tracker, frame(pattern="left"), None, n) for n in range(10)]
    assert not any(c.frozen for c in checks)


def test_screen_frozen_needs_frozen_after_captures() -> None:
    tracker = ScreenTracker()
    still = frame(pattern="left")
    first = screen(tracker, still, ("a", AT), 0)
    second = screen(tracker, still, ("b", AT), 1)
    assert not first.frozen
    assert not second.frozen
    assert screen(tracker, still, ("c", AT), 2).frozen


def test_wrong_content_against_reference_frames() -> None:
    tracker = ScreenTracker()
    left = dhash(frame(seed=8))
    right = dhash(frame(seed=9))
    check = screen(tracker, frame(seed=8), None, references=[right, left])
    assert (check.wrong_content, check.reference_distance) == (False, 0)
    check = screen(ScreenTracker(), frame(seed=4), None, references=[left])
    assert check.wrong_content is True
    assert check.reference_distance is not None
    assert check.reference_distance > 22
    assert screen(ScreenTracker(), frame(seed=4), None).wrong_content is None  # no references
    # a black screen is black, not also the wrong content
    assert screen(ScreenTracker(), frame(0), None, references=[left]).wrong_content is False


def camera(
    tracker: CameraTracker, picture: GreyFrame, reference: str | None = None, n: int = 0
) -> CameraPicture:
    return tracker.judge(picture, AT + timedelta(minutes=n), reference=reference, cfg=CFG)


def test_camera_black_covered_and_live() -> None:
    black = camera(CameraTracker(), frame(4))
    assert (black.black, black.covered) == (True, False)
    covered = camera(CameraTracker(), frame(128))
    assert (covered.black, covered.covered) == (False, True)
    live = camera(CameraTracker(), frame(seed=1))
    assert bad_verdicts(live) == frozenset()


def test_camera_frozen_on_identical_frames_only() -> None:
    tracker = CameraTracker()
    scene = frame(seed=5)
    checks = [camera(tracker, scene, n=n) for n in range(3)]
    assert [c.frozen for c in checks] == [False, False, True]
    assert checks[-1].same_count == 3
    noisy = bytearray(scene.pixels)
    noisy[100] ^= 1  # live video: one grey level somewhere differs
    check = camera(tracker, GreyFrame(GREY_WIDTH, GREY_HEIGHT, bytes(noisy)), n=3)
    assert (check.frozen, check.same_count) == (False, 1)
    # a black lens gives identical frames too: it is black, not frozen
    dark = CameraTracker()
    assert [camera(dark, frame(0), n=n).frozen for n in range(4)] == [False] * 4


def test_camera_moved_against_its_reference() -> None:
    scene = frame(seed=7)
    reference = dhash(scene)
    same = camera(CameraTracker(), scene, reference)
    assert (same.moved, same.reference_distance) == (False, 0)
    turned = camera(CameraTracker(), frame(seed=6), reference)
    assert turned.moved is True
    assert camera(CameraTracker(), scene).moved is None  # no reference set
    assert camera(CameraTracker(), frame(200), reference).moved is False  # covered, not moved


# --------------------------------------------------------------------------- the budget


class Wall:
    def __init__(self, start: datetime) -> None:
        self.now = start.timestamp()

    def __call__(self) -> float:
        return self.now


def test_budget_precedence_command_incident_interval(tmp_path: Path) -> None:
    wall = Wall(datetime(2026, 12, 6, 10, 0))  # local time
    budget = PictureBudget(tmp_path / "b.json", wall)
    assert budget.allows(500, "interval", 1000)
    assert not budget.allows(501, "interval", 1000)  # interval pictures: half the day's bytes
    budget.count(600)
    assert not budget.allows(1, "interval", 1000)
    assert budget.allows(400, "incident", 1000)
    assert not budget.allows(401, "incident", 1000)
    assert budget.allows(10_000, "command", 1000)  # an operator's picture always goes
    budget.count(10_000)
    assert budget.spent() == 10_600
    wall.now += 86_400  # the next local day
    assert budget.spent() == 0
    assert budget.allows(500, "interval", 1000)


def test_budget_survives_a_restart(tmp_path: Path) -> None:
    wall = Wall(datetime(2026, 12, 6, 10, 0))
    budget = PictureBudget(tmp_path / "b.json", wall)
    budget.count(700)
    budget.mark_interval()
    again = PictureBudget(tmp_path / "b.json", wall)
    assert (again.spent(), again.last_interval) == (700, wall.now)
    (tmp_path / "b.json").write_text("{not json")
    assert PictureBudget(tmp_path / "b.json", wall).spent() == 0  # unreadable: afresh


def test_wire_bytes_counts_base64_and_envelope() -> None:
    assert wire_bytes(3000) == 4000 + 512


# --------------------------------------------------------------------------- grab pieces


def test_rtsp_list_keeps_credentials_encoded_and_errors_scrubbed() -> None:
    source = RtspSource(
        url="rtsp://10.0.0.5:554/Streaming/Channels/101",
        shown="rtsp://10.0.0.5:554/Streaming/Channels/101",
        username="bdbp",
        password="Bien'Gioi#2026@x",
        transport="tcp",
    )
    listed = source.stdin().decode()
    assert "file 'rtsp://bdbp:Bien%27Gioi%232026%40x@10.0.0.5:554/Streaming/Channels/101'" in (
        listed
    )
    assert "option rtsp_transport tcp" in listed
    assert "Bien'Gioi" not in repr(source)
    said = (
        "[concat @ 0x5] Impossible to open "
        "'rtsp://bdbp:Bien%27Gioi%232026%40x@10.0.0.5:554/Streaming/Channels/101' Bien'Gioi#2026@x"
    )
    scrubbed = source.scrub(said)
    assert "Bien" not in scrubbed
    assert "rtsp://10.0.0.5:554/Streaming/Channels/101" in scrubbed


def test_jpeg_size_reads_the_frame_header() -> None:
    header = b"\xff\xd8\xff\xe0\x00\x04ab\xff\xc0\x00\x11\x08\x01\x0e\x01\xe0"
    assert jpeg_size(header + b"\0" * 20) == (480, 270)
    with pytest.raises(CaptureError):
        jpeg_size(b"GIF89a")


# --------------------------------------------------------------------------- simulation


def test_simulated_board_shows_a_frozen_screen_and_a_covered_camera() -> None:
    board = SimulatedBoard()
    display = SimulatedDisplayCollector(board)
    cameras = SimulatedCameraCollector(board)
    screen_check = display.collect().screen
    assert screen_check is not None
    assert (screen_check.source, screen_check.black, screen_check.frozen) == (
        "simulated",
        False,
        False,
    )
    [status] = cameras.collect().cameras
    assert status.picture is not None
    assert bad_verdicts(status.picture) == frozenset()

    board.screen_picture = "frozen"
    board.camera_views["cam1"] = "covered"
    checks = [display.collect().screen for _ in range(5)]
    assert [c.frozen for c in checks if c is not None] == [False] * 4 + [True]
    [status] = cameras.collect().cameras
    assert status.picture is not None
    assert bad_verdicts(status.picture) == {"covered"}

    board.screen_picture = "ok"
    board.screen_on = False
    dark = display.collect().screen
    assert dark is not None
    assert (dark.black, dark.frozen) == (True, False)
