"""Adaptive mode: the factor doubles while the month would overrun the
budget, halves when it fits again, and never touches the heartbeat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import fleet_protocol as fp
from edge_agent.agent import Agent
from edge_agent.config import AgentConfig
from edge_agent.usage.adaptive import Throttle
from fleet_protocol.remote_config import DataBudget
from tests.agent.conftest import FakeCollector, fake_collectors
from tests.support.clock import Clock

MB = 1_000_000
#: 10 December, noon in Vietnam: 21.5 days left in the month.
MID_DECEMBER = datetime(2026, 12, 10, 5, tzinfo=UTC)
BUDGET = DataBudget(monthly_bytes=30 * MB, adaptive=True)


def run_hours(
    throttle: Throttle, start: datetime, used: int, per_hour: Callable[[int], int], hours: int
) -> tuple[list[int], int]:
    """Evaluate hourly; ``per_hour(factor)`` is what an hour costs at a factor."""
    factors = [throttle.evaluate(start, "2026-12", used, BUDGET)]
    for hour in range(1, hours + 1):
        used += per_hour(throttle.factor)
        factors.append(throttle.evaluate(start + timedelta(hours=hour), "2026-12", used, BUDGET))
    return factors, used


def test_the_factor_rises_while_the_month_would_overrun_then_steps_back() -> None:
    throttle = Throttle()
    # 4 MB a day at default rates would end December far above 30 MB
    factors, used = run_hours(throttle, MID_DECEMBER, 10 * MB, lambda f: 4 * MB // 24 // f, 4)
    assert factors[:4] == [1, 2, 4, 8]
    assert max(factors) == 8  # the cap
    # a cheaper month (the board stopped sending most readings): back down step by step
    factors, _ = run_hours(throttle, MID_DECEMBER + timedelta(hours=5), used, lambda f: 10_000, 3)
    assert factors == [4, 2, 1, 1]


def test_no_budget_or_not_adaptive_means_default_rates() -> None:
    throttle = Throttle(factor=8)
    assert (
        throttle.evaluate(MID_DECEMBER, "2026-12", 29 * MB, DataBudget(monthly_bytes=30 * MB)) == 1
    )
    throttle = Throttle(factor=4)
    assert throttle.evaluate(MID_DECEMBER, "2026-12", 50 * MB, DataBudget(adaptive=True)) == 1


def test_a_spent_budget_holds_the_largest_factor() -> None:
    assert Throttle().evaluate(MID_DECEMBER, "2026-12", 31 * MB, BUDGET) == 8


def test_a_new_month_or_a_clock_stepped_back_measures_afresh() -> None:
    throttle = Throttle(factor=2)
    throttle.evaluate(MID_DECEMBER, "2026-12", 10 * MB, BUDGET)
    # an hour "earlier": no rate from a negative period, the factor kept
    assert throttle.evaluate(MID_DECEMBER - timedelta(hours=1), "2026-12", 20 * MB, BUDGET) == 2
    assert throttle.evaluate(MID_DECEMBER, "2027-01", 0, BUDGET) == 2


def test_the_agent_stretches_readings_but_never_the_heartbeat(
    make_config: Callable[..., AgentConfig],
) -> None:
    clock = Clock(MID_DECEMBER)
    collectors = fake_collectors()
    collectors[fp.TelemetryKind.NETWORK] = FakeCollector(
        fp.TelemetryKind.NETWORK, lambda: fp.NetworkData(link_up=True)
    )
    config = make_config(data_budget={"monthly_bytes": 30 * MB, "adaptive": True})
    agent = Agent(config, collectors=collectors, clock=clock.seconds, monotonic=clock.monotonic)
    try:
        agent.usage.tick(force=True)  # the first period starts
        agent.usage.count(5 * MB, 5 * MB)  # an hour at this rate ends the month far over
        clock.advance(timedelta(hours=1))
        agent.usage.tick(force=True)
        assert agent.usage.throttle.factor == 2
        calls = {kind: c.calls for kind, c in collectors.items()}  # type: ignore[attr-defined]
        for _ in range(120):  # 20 minutes of loop turns, 10 s apart
            agent._collect_due()
            clock.advance(10)
        done = {kind: c.calls - calls[kind] for kind, c in collectors.items()}  # type: ignore[attr-defined]
        # the heartbeat every 30 s as configured; power and network every 120 s (60 s × 2)
        assert 39 <= done[fp.TelemetryKind.HEARTBEAT] <= 41
        assert 9 <= done[fp.TelemetryKind.NETWORK] <= 11
        assert 9 <= done[fp.TelemetryKind.POWER] <= 11
        assert agent.usage.report().factor == 2
    finally:
        agent.close()
