"""for / clear-for and flapping, with an explicit clock."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from fleet_server.engine.conditions import Condition, Timing, step

T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
TIMING = Timing(for_s=120, clear_for_s=300, flap_window_s=1800, flap_count=6)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(
    observations: Sequence[tuple[float, bool]], timing: Timing = TIMING
) -> list[tuple[float, str]]:
    cond = Condition("board:x:rule", "rule")
    open_ = flapping = False
    done: list[tuple[float, str]] = []
    for t, observed in observations:
        cond, actions = step(
            cond, observed, at(t), timing, incident_open=open_, flagged_flapping=flapping
        )
        for action in actions:
            done.append((t, action))
            if action == "open":
                open_ = True
            elif action == "resolve":
                open_, flapping = False, False
            elif action == "flapping":
                flapping = True
    return done


def test_opens_only_after_for_duration() -> None:
    assert run([(0, True), (60, True), (119, True), (120, True), (180, True)]) == [(120, "open")]


def test_short_blip_never_opens() -> None:
    assert run([(0, True), (60, True), (90, False), (200, False)]) == []


def test_resolves_only_after_clear_for() -> None:
    done = run([(0, True), (120, True), (130, False), (400, False), (430, False)])
    assert done == [(120, "open"), (430, "resolve")]


def test_relapse_during_clear_for_keeps_it_open() -> None:
    done = run(
        [
            (0, True),
            (120, True),
            (130, False),
            (300, True),
            (310, False),
            (600, False),
            (610, False),
        ]
    )
    assert done == [(120, "open"), (610, "resolve")]


def test_zero_for_opens_at_once() -> None:
    assert run([(0, True)], Timing(for_s=0)) == [(0, "open")]


def test_flapping_becomes_one_flapping_incident() -> None:
    # up/down every 30 s for 10 minutes: shorter than for_s each time
    obs = [(t, (t // 30) % 2 == 0) for t in range(0, 600, 10)]
    done = run(obs)
    assert [a for _, a in done].count("open") == 1
    assert "flapping" in [a for _, a in done]
    assert "resolve" not in [a for _, a in done]
    # and it resolves only after a whole quiet window
    tail = run([*obs, (600, False), (600 + 1700, False), (600 + 1800 + 60, False)])
    assert tail[-1] == (600 + 1800 + 60, "resolve")
