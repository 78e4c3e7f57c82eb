"""The data usage ledger: per local day and month, kept across restarts,
rolled over at local midnight and month end, never counting twice when
the clock steps back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge_agent.usage.ledger import Ledger
from tests.support.clock import Clock

#: 23:30 in Vietnam on the last day of November (16:30 UTC).
LATE_NOVEMBER = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)


def test_counts_survive_a_restart(tmp_path: Path) -> None:
    clock = Clock(LATE_NOVEMBER)
    path = tmp_path / "usage.json"
    ledger = Ledger(path, clock.seconds)
    ledger.add(1_000, 4_000)
    ledger.factor = 4
    ledger.save()
    again = Ledger(path, clock.seconds)
    again.add(10, 20)
    usage = again.report("tcp_info")
    assert (usage.day, usage.day_sent, usage.day_received) == ("2026-11-30", 1_010, 4_020)
    assert (usage.month, usage.month_sent, usage.month_received) == ("2026-11", 1_010, 4_020)
    assert usage.factor == 4


def test_local_midnight_and_month_end_start_new_counters(tmp_path: Path) -> None:
    clock = Clock(LATE_NOVEMBER)
    ledger = Ledger(tmp_path / "usage.json", clock.seconds)
    ledger.add(100, 200)
    clock.advance(timedelta(hours=1))  # 00:30 on 1 December, Vietnam time (still 30 Nov UTC)
    ledger.add(5, 6)
    usage = ledger.report("tcp_info")
    assert (usage.day, usage.day_sent, usage.month, usage.month_sent) == (
        "2026-12-01",
        5,
        "2026-12",
        5,
    )
    assert ledger.months["2026-11"] == [100, 200]
    clock.advance(timedelta(days=1))
    ledger.add(1, 1)
    usage = ledger.report("tcp_info")
    assert (usage.day, usage.day_sent, usage.month_sent, usage.month_received) == (
        "2026-12-02",
        1,
        6,
        7,
    )


def test_a_clock_stepped_back_never_counts_twice(tmp_path: Path) -> None:
    clock = Clock(LATE_NOVEMBER + timedelta(hours=1))  # 1 December, local
    path = tmp_path / "usage.json"
    ledger = Ledger(path, clock.seconds)
    ledger.add(1_000, 1_000)
    ledger.save()
    clock.advance(timedelta(hours=-2))  # NTP steps back into November
    ledger = Ledger(path, clock.seconds)  # and the agent restarted meanwhile
    ledger.add(10, 10)
    usage = ledger.report("tcp_info")
    # the bytes go on to the newest day: no day or month seen twice, none lost
    assert (usage.day, usage.day_sent, usage.month_sent) == ("2026-12-01", 1_010, 1_010)
    assert "2026-11" not in ledger.months
    total = sum(s + r for s, r in ledger.days.values())
    assert total == 2_020


def test_a_clock_that_was_set_far_ahead_is_followed_back(tmp_path: Path) -> None:
    clock = Clock(datetime(2037, 1, 1, 12, tzinfo=UTC))
    ledger = Ledger(tmp_path / "usage.json", clock.seconds)
    ledger.add(50, 50)
    clock.set(LATE_NOVEMBER)
    ledger.add(7, 8)
    usage = ledger.report("tcp_info")
    assert (usage.day, usage.day_sent, usage.day_received) == ("2026-11-30", 7, 8)


@pytest.mark.parametrize(
    "content",
    [
        "not json",
        '{"format": 1, "day": "2026-11-30", "days": {"2026-11-30": [1, -5]}, "months": {}}',
        '{"format": 9}',
        '{"format": 1, "day": "yesterday", "days": {}, "months": {}}',
    ],
)
def test_an_unreadable_file_starts_afresh(tmp_path: Path, content: str) -> None:
    path = tmp_path / "usage.json"
    path.write_text(content)
    ledger = Ledger(path, Clock(LATE_NOVEMBER).seconds)
    ledger.add(3, 4)
    assert ledger.report("tcp_info").month_sent == 3
    ledger.save()
    assert json.loads(path.read_text())["months"] == {"2026-11": [3, 4]}


def test_saving_to_an_unwritable_place_keeps_counting(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "missing" / "usage.json", Clock(LATE_NOVEMBER).seconds)
    ledger.add(1, 2)
    ledger.save()  # logged, not raised
    assert ledger.report("tcp_info").day_received == 2
    assert not (tmp_path / "missing").exists()
