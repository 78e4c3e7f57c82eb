"""What a rollout decides, as small pure functions: which wave a board falls
in, when failures exceed the threshold, whether a broadcast window is too
close to start an update, and what a board's ``update`` event means for its
state. Domain logic only: no SQL, no HTTP."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal, get_args

from fleet_server.localtime import LOCAL_TZ

RolloutState = Literal["scheduled", "running", "paused", "completed", "aborted", "cancelled"]
ROLLOUT_STATES: tuple[RolloutState, ...] = get_args(RolloutState)
#: A rollout in these states is still followed by the engine.
ACTIVE: tuple[RolloutState, ...] = ("scheduled", "running", "paused")

BoardState = Literal[
    "pending",
    "waiting",
    "sent",
    "downloading",
    "installed",
    "healthy",
    "rolled_back",
    "failed",
    "skipped",
    "cancelled",
]
BOARD_STATES: tuple[BoardState, ...] = get_args(BoardState)
#: Not sent yet.
NOT_SENT: tuple[BoardState, ...] = ("pending", "waiting")
#: Sent, the answer not final yet.
IN_FLIGHT: tuple[BoardState, ...] = ("sent", "downloading", "installed")
FAILED: tuple[BoardState, ...] = ("rolled_back", "failed")
TERMINAL: tuple[BoardState, ...] = ("healthy", "rolled_back", "failed", "skipped", "cancelled")

#: The agent's ``update`` event states (contract: fleet_protocol.releases)
#: and the board state each means here.
EVENT_STATES: dict[str, BoardState] = {
    "downloading": "downloading",
    "downloaded": "downloading",
    "installed": "installed",
    "healthy": "healthy",
    "rolled_back": "rolled_back",
    "failed": "failed",
}
#: How far along each board state is: an event never moves a board back.
_RANK: dict[BoardState, int] = {"sent": 0, "downloading": 1, "installed": 2}


@dataclass(frozen=True, slots=True)
class Wave:
    """A wave's size: a number of boards or a percentage of all targeted."""

    count: int | None = None
    percent: float | None = None

    def size(self, total: int) -> int:
        if self.count is not None:
            return self.count
        assert self.percent is not None
        return max(1, math.ceil(total * self.percent / 100 - 1e-9))


def wave_numbers(total: int, plan: Sequence[Wave]) -> list[int]:
    """The wave (from 1) of each of ``total`` boards in rollout order. Boards
    left over when the plan's waves are full go in its last wave."""
    numbers: list[int] = []
    for number, wave in enumerate(plan, start=1):
        take = min(wave.size(total), total - len(numbers))
        numbers += [number] * take
        if len(numbers) == total:
            return numbers
    last = len(plan) if plan else 1
    return numbers + [last] * (total - len(numbers))


@dataclass(frozen=True, slots=True)
class Threshold:
    """The rollout aborts when failures exceed ``max_failures`` boards, or
    ``max_percent`` of the boards tried (sent the command) so far."""

    max_failures: int | None = None
    max_percent: float | None = None

    def exceeded(self, failures: int, tried: int) -> bool:
        if self.max_failures is not None:
            return failures > self.max_failures
        assert self.max_percent is not None
        return tried > 0 and failures * 100 > self.max_percent * tried

    def describe(self, failures: int, tried: int) -> str:
        limit = (
            f"{self.max_failures} boards"
            if self.max_failures is not None
            else f"{self.max_percent:g} % of the boards tried"
        )
        return f"{failures} failures of {tried} boards tried exceed the threshold of {limit}"


@dataclass(frozen=True, slots=True)
class Span:
    """A broadcast window in local time (``part``: morning, afternoon, evening)."""

    part: str
    starts_at: time
    ends_at: time


def blocking_window(spans: Sequence[Span], now: datetime, margin: timedelta) -> Span | None:
    """The window that is on air at ``now`` or starts within ``margin`` of it
    (an update downloads, restarts and proves itself healthy in that time);
    None when the board is clear."""
    local_now = now.astimezone(LOCAL_TZ)
    until = local_now + margin
    today = local_now.date()
    for day in (today - timedelta(days=1), today, today + timedelta(days=1)):
        for span in spans:
            start, end = _at(day, span.starts_at), _at(day, span.ends_at)
            if start < until and end > local_now:
                return span
    return None


def _at(day: date, at: time) -> datetime:
    return datetime.combine(day, at, LOCAL_TZ)


def advanced(current: BoardState, reported: BoardState) -> BoardState:
    """The board's state after an event reporting ``reported``: a final
    report always counts, progress only moves forward."""
    if current in TERMINAL:
        return current
    if reported in TERMINAL:
        return reported
    return reported if _RANK.get(reported, 0) > _RANK.get(current, 0) else current
