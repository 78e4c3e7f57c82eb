"""Screen and camera proof: what the board's screen and cameras really show.

- ``frame``: grey frames, the perceptual hash (dHash) and luminance statistics;
- ``grab``: one picture with ffmpeg (X11, framebuffer, the player's file, RTSP);
- ``verdict``: black, frozen, covered, moved, wrong content, per source;
- ``budget``: the day's bytes of pictures;
- ``service``: when to look, and which pictures to upload (``Proof``);
- ``workers``: the checks' grabs, off the readings (``CheckWorkers``).
"""

from __future__ import annotations

from edge_agent.proof.budget import PictureBudget, wire_bytes
from edge_agent.proof.frame import GREY_HEIGHT, GREY_WIDTH, GreyFrame, dhash, hamming
from edge_agent.proof.grab import (
    Capture,
    CaptureError,
    FbdevSource,
    FileSource,
    Grabber,
    RtspSource,
    X11Source,
)
from edge_agent.proof.service import BudgetSpent, Proof
from edge_agent.proof.verdict import CameraTracker, ScreenTracker, bad_verdicts

__all__ = [
    "GREY_HEIGHT",
    "GREY_WIDTH",
    "BudgetSpent",
    "CameraTracker",
    "Capture",
    "CaptureError",
    "FbdevSource",
    "FileSource",
    "Grabber",
    "GreyFrame",
    "PictureBudget",
    "Proof",
    "RtspSource",
    "ScreenTracker",
    "X11Source",
    "bad_verdicts",
    "dhash",
    "hamming",
    "wire_bytes",
]
