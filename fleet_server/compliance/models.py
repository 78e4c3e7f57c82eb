"""Broadcast compliance (Điều 8): the verdict for one board and one day.

No SQL here: storage.py measures the minutes, this module judges them.

A day is judged on its two windows, morning and afternoon, in local time.
A window is met when approved propaganda or emergency information was on
air for at least the threshold (180 min by default) inside it (Điều 8.1;
storage counts only those minutes). Time no display sample covers is
unknown:

* met in both windows                       -> compliant
* a window that could not be met even if every unknown minute had counted,
  and no emergency order covers it          -> non_compliant
* every unmet window covered by an emergency order of a competent
  authority (Điều 8.2)                      -> exempt (which order is kept)
* otherwise                                 -> unknown (missing data is
  never read as compliant, nor as failed)

Emergency content without an order excuses nothing: the day is judged on
its merits. A day that has not ended yet is ``pending`` unless it is
already met.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal

from fleet_server.localtime import LOCAL_TZ

Status = Literal["compliant", "non_compliant", "unknown", "pending", "no_windows", "exempt"]
PARTS = ("morning", "afternoon")


@dataclass(frozen=True, slots=True)
class ComplianceSettings:
    morning_minutes: float = 180.0
    afternoon_minutes: float = 180.0
    #: a display sample holds until the next one, but never longer than this
    #: (the agent reports every 30 s by default)
    sample_gap_s: float = 120.0
    #: local hour of the next morning at which a failed day raises an incident
    report_hour: int = 7
    #: how often today's running figures are refreshed for every board
    today_every_s: float = 900.0
    #: how often the job looks for late data and ended days
    every_s: float = 60.0
    #: at most this many (board, day) pairs per statement
    batch: int = 2000

    def threshold(self, part: str) -> float:
        return self.morning_minutes if part == "morning" else self.afternoon_minutes


@dataclass(frozen=True, slots=True)
class Window:
    part: str
    starts_at: datetime
    ends_at: datetime

    @property
    def minutes(self) -> float:
        return (self.ends_at - self.starts_at).total_seconds() / 60


@dataclass(frozen=True, slots=True)
class WindowFigures:
    window: Window
    #: minutes that count in the window (Điều 8.1: approved propaganda or
    #: emergency information on a screen that is on)
    on_air_minutes: float
    unknown_minutes: float
    #: an emergency order of a competent authority whose period overlaps the
    #: window and covers the board (Điều 8.2), the lowest id if several
    order_id: int | None = None


@dataclass(frozen=True, slots=True)
class DayMeasure:
    """What storage measured for one board and local day."""

    board_id: str
    day: date  # local
    total_minutes: float
    advertising_minutes: float
    emergency_minutes: float
    #: per window: the minutes that count (Điều 8.1) and the uncovered ones
    windows: dict[str, WindowFigures]
    #: over the day: approved propaganda and emergency minutes (what counts)
    counted_minutes: float = 0.0
    #: on air with a file the registry did not approve at that moment
    unapproved_minutes: float = 0.0
    #: on air with no file hash reported at all
    unidentified_minutes: float = 0.0

    @property
    def day_end(self) -> datetime:
        return day_bounds(self.day)[1]


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Local midnight to local midnight, as aware datetimes."""
    start = datetime.combine(day, time(0), tzinfo=LOCAL_TZ)
    return start, start + timedelta(days=1)


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


WindowResult = Literal["met", "failed", "unknown", "exempt"]


def window_result(fig: WindowFigures, need: float) -> WindowResult:
    """One window: met; failed (proven, even if every unknown minute had
    counted); exempt (not met, but an emergency order covers it, Điều 8.2);
    or unknown."""
    if fig.on_air_minutes >= need - 1e-6:
        return "met"
    if fig.order_id is not None:
        return "exempt"
    if fig.on_air_minutes + fig.unknown_minutes < need - 1e-6:
        return "failed"
    return "unknown"


def verdict(measure: DayMeasure, now: datetime, settings: ComplianceSettings) -> Status:
    """The day's status from its windows. Emergency content alone excuses
    nothing: a window is exempt only where an order covers it (Điều 8.2),
    and a failed window no order covers makes the day non-compliant."""
    if any(part not in measure.windows for part in PARTS):
        return "no_windows"
    results = [window_result(measure.windows[p], settings.threshold(p)) for p in PARTS]
    if all(r == "met" for r in results):
        return "compliant"
    if now < measure.day_end:
        return "pending"
    if "failed" in results:
        return "non_compliant"
    if "unknown" in results:
        return "unknown"
    return "exempt"


def exempting_order(measure: DayMeasure, settings: ComplianceSettings) -> int | None:
    """The order that exempts the day's unmet windows (the lowest id)."""
    orders = [
        fig.order_id
        for part, fig in measure.windows.items()
        if part in PARTS and window_result(fig, settings.threshold(part)) == "exempt"
    ]
    return min((o for o in orders if o is not None), default=None)


def incident_due(day: date, now: datetime, settings: ComplianceSettings) -> bool:
    """A failed day is reported the next morning at the report hour."""
    _, end = day_bounds(day)
    return now >= end + timedelta(hours=settings.report_hour)
