"""Adaptive mode: stretch the telemetry intervals while the month would
overrun the board's data budget, and step back when it fits again.

Every ``EVERY`` the throttle measures the month's rate over the last period
(bytes per day at the factor in force) and projects the month's end with it
(``fleet_protocol.usage.days_left``). The factor doubles (1, 2, 4, 8) while
the projection exceeds the budget, and halves once the month would fit even
at twice the measured rate (with 10 % to spare): the heartbeat, events and
the rest do not shrink with the factor, so twice the rate is an upper bound
of what halving the factor costs. A spent budget holds the largest factor.
The rate of the last period, not the week's average (the server's forecast),
so that the effect of a step shows within one period.

What the factor stretches is the agent's to say (``SCALED``): power,
network, camera and display readings — never the heartbeat (the server's
idea of a board being alive), events, state or command results.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import fleet_protocol as fp
import fleet_protocol.usage as fu
from fleet_protocol.remote_config import DataBudget

EVERY = timedelta(hours=1)
#: The readings whose interval the factor stretches.
SCALED = frozenset(
    {
        fp.TelemetryKind.POWER,
        fp.TelemetryKind.NETWORK,
        fp.TelemetryKind.CAMERA,
        fp.TelemetryKind.DISPLAY,
    }
)
#: Step back only when twice the rate fits in this share of the budget.
STEP_DOWN_SHARE = 0.9


class Throttle:
    def __init__(self, factor: int = 1) -> None:
        self.factor = factor if factor in fu.FACTORS else 1
        self._since: tuple[datetime, str, int] | None = None  # (when, month, month total)

    def evaluate(self, at: datetime, month: str, month_total: int, budget: DataBudget) -> int:
        """The factor to use from now on (changed at most once per ``EVERY``)."""
        limit = budget.monthly_bytes
        if not budget.adaptive or limit is None:
            self.factor, self._since = 1, None
            return 1
        if month_total >= limit:
            self.factor = fu.MAX_FACTOR
        since = self._since
        if since is None or since[1] != month or at < since[0]:
            # no period to measure yet: a start, a new month, a clock stepped back
            self._since = (at, month, month_total)
            return self.factor
        elapsed = (at - since[0]).total_seconds()
        if elapsed < EVERY.total_seconds():
            return self.factor
        rate = max(0, month_total - since[2]) * 86_400 / elapsed
        left = fu.days_left(at)
        if month_total + rate * left > limit:
            self.factor = min(fu.MAX_FACTOR, self.factor * 2)
        elif self.factor > 1 and month_total + 2 * rate * left <= limit * STEP_DOWN_SHARE:
            self.factor //= 2
        self._since = (at, month, month_total)
        return self.factor

    def scale(self, kind: fp.TelemetryKind) -> int:
        """What ``kind``'s interval is multiplied by now."""
        return self.factor if kind in SCALED else 1
