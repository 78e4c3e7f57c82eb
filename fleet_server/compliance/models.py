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

Advertising (Điều 8.3: "Thời lượng đăng phát thông tin quảng cáo thực hiện
theo quy định của pháp luật về quảng cáo") is judged beside the verdict: its
share of the day's minutes on air against a ceiling the operator sets, since
the regulation fixes no number (:func:`advertising_finding`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from fleet_server.errors import ConfigError
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
    #: Điều 8.3: the most advertising may take of a day's minutes on air, in
    #: percent (a setting: the regulation defers to the advertising law)
    advertising_ceiling_percent: float = 10.0
    #: per organisation or site: (("organisation" | "site", code), percent);
    #: a site's own ceiling wins over its organisation's
    advertising_ceilings: tuple[tuple[tuple[str, str], float], ...] = field(default=())

    def __post_init__(self) -> None:
        check_ceilings(self.advertising_ceiling_percent, self.advertising_ceilings)

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
    #: the board's site and organisation (codes), for the advertising ceiling
    site_code: str | None = None
    organisation_code: str | None = None

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


# Điều 8.3 --------------------------------------------------------------------

CEILING_SCOPES = ("organisation", "site")
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")


def _check_percent(value: float, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConfigError(f"{what}: {value!r} is not a percentage between 0 and 100")


def check_ceilings(default: float, ceilings: tuple[tuple[tuple[str, str], float], ...]) -> None:
    """Refuse ceilings that cannot be meant (ConfigError naming the entry)."""
    _check_percent(default, "advertising ceiling")
    seen: set[tuple[str, str]] = set()
    for key, percent in ceilings:
        scope, code = key
        if scope not in CEILING_SCOPES or not _CODE.match(code):
            raise ConfigError(
                f"advertising ceiling for {scope}:{code}: not organisation:<code> or site:<code>"
            )
        if key in seen:
            raise ConfigError(f"advertising ceiling for {scope}:{code} is given twice")
        seen.add(key)
        _check_percent(percent, f"advertising ceiling for {scope}:{code}")


def parse_ceilings(text: str) -> tuple[tuple[tuple[str, str], float], ...]:
    """``organisation:<code>=<percent>,site:<code>=<percent>`` (comma or
    space separated) as settings give it; ConfigError names a bad entry."""
    ceilings = []
    for entry in text.replace(",", " ").split():
        key, eq, value = entry.partition("=")
        scope, colon, code = key.partition(":")
        if not (eq and colon):
            raise ConfigError(
                f"advertising ceiling {entry!r}: write organisation:<code>=<percent>"
                " or site:<code>=<percent>"
            )
        try:
            percent = float(value.rstrip("%"))
        except ValueError:
            raise ConfigError(f"advertising ceiling {entry!r}: {value!r} is not a number") from None
        ceilings.append(((scope.strip().lower(), code.strip()), percent))
    result = tuple(ceilings)
    check_ceilings(100.0, result)
    return result


@dataclass(frozen=True, slots=True)
class AdvertisingShare:
    """A day's advertising against its ceiling (Điều 8.3)."""

    #: approved advertising as a share of the day's minutes on air, in
    #: percent (two decimals); None when nothing was on air
    share_percent: float | None
    ceiling_percent: float
    #: where the ceiling came from: "fleet", "organisation:<code>", "site:<code>"
    ceiling_from: str

    @property
    def over(self) -> bool:
        return self.share_percent is not None and self.share_percent > self.ceiling_percent


def advertising_share(measure: DayMeasure, settings: ComplianceSettings) -> AdvertisingShare:
    """The share of the day's on-air minutes that was approved advertising,
    and the ceiling that applies to the board: its site's, else its
    organisation's, else the fleet's."""
    share = None
    if measure.total_minutes > 1e-9:
        share = min(100.0, round(100 * measure.advertising_minutes / measure.total_minutes, 2))
    ceilings = dict(settings.advertising_ceilings)
    for scope, code in (("site", measure.site_code), ("organisation", measure.organisation_code)):
        if code is not None and (scope, code) in ceilings:
            return AdvertisingShare(share, ceilings[(scope, code)], f"{scope}:{code}")
    return AdvertisingShare(share, settings.advertising_ceiling_percent, "fleet")
