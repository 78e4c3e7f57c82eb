"""When a rule's condition becomes an incident, and when it stops being one.

Each condition (a rule on one board or site) must hold for ``for_s`` before
an incident opens, and must have cleared for ``clear_for_s`` before it
resolves (hysteresis in time; rules add hysteresis in value with separate
open and clear thresholds). A condition that flips ``flap_count`` times
within ``flap_window_s`` is *flapping*: it keeps one incident open, marked
flapping, until it has been quiet for a whole window — one incident, not a
stream of them. Domain logic only: the caller stores the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal

Action = Literal["open", "resolve", "flapping"]


@dataclass(frozen=True, slots=True)
class Timing:
    for_s: float = 0.0
    clear_for_s: float = 60.0
    flap_window_s: float = 1800.0
    flap_count: int = 6  # three open/clear cycles


@dataclass(frozen=True, slots=True)
class Condition:
    key: str
    rule: str
    active: bool = False
    active_since: datetime | None = None
    inactive_since: datetime | None = None
    flips: tuple[datetime, ...] = field(default_factory=tuple)


def is_flapping(cond: Condition, now: datetime, timing: Timing) -> bool:
    window = timedelta(seconds=timing.flap_window_s)
    return sum(1 for t in cond.flips if now - t <= window) >= timing.flap_count


def step(
    cond: Condition,
    observed: bool,
    now: datetime,
    timing: Timing,
    *,
    incident_open: bool,
    flagged_flapping: bool = False,
) -> tuple[Condition, list[Action]]:
    """Advance one condition with a fresh observation; return what to do."""
    window = timedelta(seconds=timing.flap_window_s)
    if observed != cond.active:
        flips = (*tuple(t for t in cond.flips if now - t <= window), now)
        cond = replace(
            cond,
            active=observed,
            flips=flips,
            active_since=now if observed else cond.active_since,
            inactive_since=None if observed else now,
        )
    actions: list[Action] = []
    flapping = is_flapping(cond, now, timing)
    if flapping and incident_open and not flagged_flapping:
        actions.append("flapping")
    if cond.active:
        assert cond.active_since is not None
        held = (now - cond.active_since).total_seconds()
        if not incident_open and (held >= timing.for_s or flapping):
            actions.append("open")
    elif incident_open and cond.inactive_since is not None:
        quiet = (now - cond.inactive_since).total_seconds()
        needed = timing.flap_window_s if (flapping or flagged_flapping) else timing.clear_for_s
        if quiet >= needed:
            actions.append("resolve")
    return cond, actions
