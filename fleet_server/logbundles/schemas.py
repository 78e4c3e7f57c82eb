"""What the log bundles API answers and takes (a bundle's content is served
as text or JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from fleet_protocol.logs import LOG_BUNDLE_KINDS, MAX_LOG_LINES, MAX_LOG_MINUTES, LogBundleKind


class LogBundleOut(BaseModel):
    """One bundle a board uploaded, without its content: ``url`` serves it."""

    id: int
    board_id: str
    #: the collect_logs command that asked for it
    request_id: str
    kind: LogBundleKind
    captured_at: datetime
    received_at: datetime
    #: the journal's window starts here; None for diagnostics
    since: datetime | None
    lines: int
    #: the oldest lines were dropped on the board to fit the size cap
    truncated: bool
    #: the text's size on the board before any line was dropped
    original_bytes: int
    #: the gzip's size as stored
    bytes: int
    url: str


class LogBundleList(BaseModel):
    """A board's bundles, newest first, a page at a time: ask again with
    ``before=next_before`` for the next page (None: there is none)."""

    board_id: str
    items: list[LogBundleOut]
    next_before: int | None


class CollectLogsIn(BaseModel):
    """What to ask the board for (fleet_protocol ``collect_logs``)."""

    model_config = ConfigDict(extra="forbid")

    minutes: Annotated[int, Field(ge=1, le=MAX_LOG_MINUTES)] = 60
    lines: Annotated[int, Field(ge=1, le=MAX_LOG_LINES)] = 1000
    include: Annotated[list[LogBundleKind], Field(min_length=1, max_length=2)] = Field(
        default_factory=lambda: list(LOG_BUNDLE_KINDS)
    )
    #: why, for the command's history (stays on the server)
    note: Annotated[str, Field(max_length=500)] | None = None
