"""The API's rollout models (requests and answers)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fleet_protocol.releases import VERSION_PATTERN
from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.boards.schemas import MAX_TAGS, Tag
from fleet_server.rollouts.models import BoardState
from fleet_server.rollouts.storage import RolloutFields

MAX_ID = 2**62


class RolloutTargetIn(BaseModel):
    """Boards every given criterion lets through (at least one is given)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt criterion is named, not ignored

    organisation_id: int | None = Field(default=None, ge=1, le=MAX_ID)
    site_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None = Field(
        default=None, max_length=1000
    )
    board_ids: list[Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]] | None = Field(
        default=None, max_length=5000
    )
    #: boards carrying any of these tags (PATCH /api/v1/boards/{id})
    tags: list[Tag] | None = Field(default=None, min_length=1, max_length=MAX_TAGS)


class RolloutWaveIn(BaseModel):
    """One wave: ``count`` boards, or ``percent`` of all the boards targeted."""

    model_config = ConfigDict(extra="forbid")

    count: int | None = Field(default=None, ge=1, le=100_000)
    percent: float | None = Field(default=None, gt=0, le=100)


class RolloutIn(BaseModel):
    #: a misspelt field (``max_failure``) is refused, never silently the default
    model_config = ConfigDict(extra="forbid")

    version: str = Field(pattern=VERSION_PATTERN)
    target: RolloutTargetIn
    waves: list[RolloutWaveIn] = Field(min_length=1, max_length=20)
    pause_s: int = Field(default=600, ge=0, le=604_800)
    #: abort when failures exceed this many boards (default 0: the first)...
    max_failures: int | None = Field(default=None, ge=0, le=100_000)
    #: ...or this percentage of the boards tried (give one of the two)
    max_failure_percent: float | None = Field(default=None, ge=0, le=100)
    #: send inside broadcast windows and maintenance windows too
    force: bool = False
    health_deadline_s: int = Field(default=300, ge=30, le=3600)
    #: not before this time (default: now)
    starts_at: AwareDatetime | None = None
    #: only count the boards targeted; nothing is created
    dry_run: bool = False


class RolloutBoardOut(BaseModel):
    rollout_id: int
    board_id: str
    position: int
    wave: int
    state: BoardState
    reason: str | None
    request_id: str | None
    version_before: str | None
    version_after: str | None
    sent_at: datetime | None
    installed_at: datetime | None
    updated_at: datetime


class RolloutOut(RolloutFields):
    #: boards per state
    counts: dict[str, int]


#: The most boards a rollout's answer carries in ``boards`` (the first, by
#: position); all of them are paged at GET /api/v1/rollouts/{id}/boards.
DETAIL_BOARDS = 100


class RolloutDetail(RolloutOut):
    #: deprecated: the first ``DETAIL_BOARDS`` boards by position only; page
    #: them all at ``/api/v1/rollouts/{id}/boards`` (``boards_truncated``)
    boards: list[RolloutBoardOut] = Field(
        description="deprecated: at most the first 100 boards by position;"
        " page them with GET /api/v1/rollouts/{id}/boards"
    )
    #: the rollout's boards, all states
    boards_total: int
    #: true when ``boards`` holds fewer than ``boards_total``
    boards_truncated: bool


class DryRunOut(BaseModel):
    dry_run: bool = True
    version: str
    boards: int
    #: boards per wave, in order
    waves: list[int]
    #: disabled boards (skipped)
    skipped: int


class RolloutActionIn(BaseModel):
    reason: str | None = Field(default=None, max_length=500, pattern=r"^[^\x00]*$")
