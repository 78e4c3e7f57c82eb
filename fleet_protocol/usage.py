"""The 4G data a board used, as it reports it, and the month's forecast.

A board counts the bytes it sends and receives at the socket (edge_agent.usage)
per day and per month of its local calendar (Vietnam time, UTC+7, no daylight
saving) and reports the counters with every network reading
(``NetworkData.data_usage``). Both sides judge a month with the same
:func:`month_forecast`: what was used, plus a daily rate for the time left.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

#: The board's calendar: Vietnam time. A fixed offset, so the board needs no
#: time zone database (Vietnam has kept UTC+7 without daylight saving since 1975).
BOARD_TZ = timezone(timedelta(hours=7), "ICT")
#: More than any 4G link moves in a day (≈ 1 Gbit/s for 24 h) or a month.
MAX_DAY_BYTES = 10**13
MAX_MONTH_BYTES = 31 * MAX_DAY_BYTES
#: The largest factor a board's adaptive mode stretches its reporting intervals by.
MAX_FACTOR = 8
#: Factors a board steps through: each doubles the one before.
FACTORS = (1, 2, 4, 8)
#: Complete days whose average use is the forecast's daily rate.
FORECAST_DAYS = 7
#: How far a reading's usage day may lie from the local day of its
#: ``measured_at``: the report is made just after the reading (across local
#: midnight: a day later), and the board keeps counting into its newest day
#: when its clock steps back by up to two days (edge_agent.usage.ledger).
#: Beyond, the day is not the reading's: a network reading claiming bytes on
#: a day years away is refused, not stored as that day's use.
DAYS_AHEAD = 3
DAYS_BEHIND = 1
#: Below this much of a first day, its rate is too noisy to extrapolate.
MIN_ELAPSED = timedelta(hours=1)

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def _a_day(value: str) -> str:
    if _DAY.fullmatch(value) is None:
        raise ValueError("day must be a date YYYY-MM-DD")
    try:
        date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"day is not a calendar date: {exc}") from None
    return value


def _a_month(value: str) -> str:
    if _MONTH.fullmatch(value) is None:
        raise ValueError("month must be YYYY-MM")
    return value


LocalDay = Annotated[str, AfterValidator(_a_day)]
LocalMonth = Annotated[str, AfterValidator(_a_month)]
DayBytes = Annotated[int, Field(ge=0, le=MAX_DAY_BYTES)]
MonthBytes = Annotated[int, Field(ge=0, le=MAX_MONTH_BYTES)]
Factor = Literal[1, 2, 4, 8]


class DataUsage(BaseModel):
    """The board's bytes on the link so far today and this month (its local
    calendar), and the factor its adaptive mode stretches the telemetry
    intervals by (1: default rates)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, defer_build=True)

    day: LocalDay
    day_sent: DayBytes
    day_received: DayBytes
    month: LocalMonth
    month_sent: MonthBytes
    month_received: MonthBytes
    factor: Factor = 1
    #: how the bytes were counted: the kernel's TCP counters of the MQTT
    #: connection (TCP/IP headers estimated from the segment counts), or the
    #: MQTT payloads the agent handed over (a kernel without TCP_INFO counters)
    counted: Literal["tcp_info", "payload"] = "tcp_info"

    @model_validator(mode="after")
    def _consistent(self) -> DataUsage:
        if not self.day.startswith(self.month + "-"):
            raise ValueError("day must lie in month")
        if self.day_sent > self.month_sent or self.day_received > self.month_received:
            raise ValueError("a day's bytes cannot exceed its month's")
        return self

    @property
    def day_total(self) -> int:
        return self.day_sent + self.day_received

    @property
    def month_total(self) -> int:
        return self.month_sent + self.month_received


def check_day(usage: DataUsage, measured_at: datetime) -> None:
    """ValueError naming both days when ``usage.day`` is not within
    DAYS_BEHIND / DAYS_AHEAD days of ``measured_at``'s local day."""
    measured = local_day(measured_at)
    offset = (date.fromisoformat(usage.day) - measured).days
    if not -DAYS_BEHIND <= offset <= DAYS_AHEAD:
        raise ValueError(
            f"data_usage.day {usage.day} is {offset:+d} days from the local day"
            f" {measured.isoformat()} of measured_at (allowed -{DAYS_BEHIND}..+{DAYS_AHEAD})"
        )


def local_day(at: datetime) -> date:
    """The board's calendar day at ``at`` (aware)."""
    return at.astimezone(BOARD_TZ).date()


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def month_end(at: datetime) -> datetime:
    """The first instant of the next local month after ``at``."""
    local = at.astimezone(BOARD_TZ)
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return datetime(year, month, 1, tzinfo=BOARD_TZ)


def days_left(at: datetime) -> float:
    """Days (fractional) from ``at`` to the end of its local month."""
    return max(0.0, (month_end(at) - at).total_seconds() / 86_400)


def daily_rate(complete_days: Sequence[int], today_used: int, at: datetime) -> float:
    """Bytes per day: the average of the last complete days (at most
    FORECAST_DAYS, the newest last), or today's rate so far when there are
    none yet (after MIN_ELAPSED of it; 0 before)."""
    days = list(complete_days)[-FORECAST_DAYS:]
    if days:
        return sum(days) / len(days)
    local = at.astimezone(BOARD_TZ)
    elapsed = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
    if elapsed < MIN_ELAPSED:
        return 0.0
    return today_used * 86_400 / elapsed.total_seconds()


def month_forecast(
    month_used: int, complete_days: Sequence[int], today_used: int, at: datetime
) -> int:
    """What the month will have used at its end: used so far, plus the daily
    rate (:func:`daily_rate`) for the days left."""
    return month_used + round(daily_rate(complete_days, today_used, at) * days_left(at))
