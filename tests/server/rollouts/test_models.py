"""What a rollout decides, without a database: waves, the threshold, the
broadcast window that keeps a board waiting, and how an event moves a
board's state."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from fleet_server.localtime import LOCAL_TZ
from fleet_server.rollouts.models import (
    Span,
    Threshold,
    Wave,
    advanced,
    blocking_window,
    wave_numbers,
)


@pytest.mark.parametrize(
    ("total", "plan", "expected"),
    [
        (5, [Wave(count=2), Wave(percent=100)], [1, 1, 2, 2, 2]),
        (10, [Wave(count=1), Wave(percent=25), Wave(percent=100)], [1, 2, 2, 2] + [3] * 6),
        (3, [Wave(percent=10)], [1, 1, 1]),  # at least one, the rest in the last wave
        (2, [Wave(count=5), Wave(count=5)], [1, 1]),  # the second wave has nothing left
        (4, [Wave(percent=50), Wave(count=1)], [1, 1, 2, 2]),
        (0, [Wave(count=1)], []),
    ],
)
def test_waves(total: int, plan: list[Wave], expected: list[int]) -> None:
    assert wave_numbers(total, plan) == expected


def test_thresholds() -> None:
    assert not Threshold(max_failures=0).exceeded(0, 5)
    assert Threshold(max_failures=0).exceeded(1, 1)
    assert not Threshold(max_failures=2).exceeded(2, 10)
    assert not Threshold(max_percent=50).exceeded(1, 2)
    assert Threshold(max_percent=50).exceeded(2, 3)
    assert not Threshold(max_percent=0).exceeded(0, 0)


def _local(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 7, hour, minute, tzinfo=LOCAL_TZ)


def test_a_window_on_air_or_starting_within_the_margin_blocks() -> None:
    morning = Span("morning", time(7), time(10, 30))
    evening = Span("evening", time(19), time(23, 59))
    margin = timedelta(minutes=15)
    assert blocking_window([morning], _local(8), margin) == morning
    assert blocking_window([morning], _local(6, 50), margin) == morning  # starts in 10 min
    assert blocking_window([morning], _local(6, 40), margin) is None
    assert blocking_window([morning], _local(10, 30), margin) is None  # just ended
    # 23:55 local: tomorrow's morning is far, tonight's evening window on air
    assert blocking_window([morning, evening], _local(23, 55), margin) == evening
    # the same instant given in UTC (01:00 UTC is 08:00 local)
    assert blocking_window([morning], _local(8).astimezone(UTC), margin) == morning


def test_events_only_move_a_board_forward() -> None:
    assert advanced("sent", "downloading") == "downloading"
    assert advanced("installed", "downloading") == "installed"  # a late copy
    assert advanced("installed", "rolled_back") == "rolled_back"
    assert advanced("healthy", "failed") == "healthy"  # final stays final
    assert advanced("downloading", "healthy") == "healthy"
