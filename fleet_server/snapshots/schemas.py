"""What the snapshots API answers (the picture itself is served as JPEG)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Source = Literal["screen", "camera"]


class SnapshotOut(BaseModel):
    """One picture a board uploaded, without its bytes: ``url`` serves them."""

    id: int
    board_id: str
    source: Source
    #: the camera's id; None for the screen
    camera_id: str | None
    #: why the board took it: ``interval``, ``command`` or ``incident``
    reason: str
    #: the ``screenshot`` command that asked for it
    request_id: str | None
    captured_at: datetime
    received_at: datetime
    width: int
    height: int
    phash: str
    bytes: int
    url: str


class SnapshotList(BaseModel):
    """A board's newest picture of each source it may be seen by the caller,
    and its history, newest first, a page at a time: ask again with
    ``before=next_before`` for the next page (None: there is none)."""

    board_id: str
    latest: list[SnapshotOut]
    items: list[SnapshotOut]
    next_before: int | None


class ScreenshotIn(BaseModel):
    """What to take a picture of: the screen (the default), one camera, or all."""

    model_config = ConfigDict(extra="forbid")

    source: Literal["screen", "camera", "all"] = "screen"
    #: with ``source: camera`` only (checked like the board checks it)
    camera_id: Annotated[str, Field(max_length=32)] | None = None
    #: why, for the command's history (stays on the server)
    note: Annotated[str, Field(max_length=500)] | None = None
