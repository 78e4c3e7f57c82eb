"""Periods in Vietnam's local time (UTC+7 all year, no daylight saving)."""

from __future__ import annotations

import re
from datetime import datetime

from fleet_server.availability.models import Period
from fleet_server.localtime import LOCAL_TZ

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def month(text: str) -> Period:
    """``2026-11`` -> [1 Nov 2026 00:00, 1 Dec 2026 00:00) local time."""
    match = _MONTH_RE.match(text.strip())
    if not match or not 1 <= int(match[2]) <= 12 or int(match[1]) < 2000:
        raise ValueError(f"{text!r} is not a month: write YYYY-MM, e.g. 2026-11")
    year, number = int(match[1]), int(match[2])
    start = datetime(year, number, 1, tzinfo=LOCAL_TZ)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=LOCAL_TZ)
    return Period(start, end)


def month_start(at: datetime) -> datetime:
    """Local midnight of the first day of ``at``'s month."""
    local = at.astimezone(LOCAL_TZ)
    return datetime(local.year, local.month, 1, tzinfo=LOCAL_TZ)


def until(period: Period, now: datetime) -> Period:
    """The part of ``period`` that has happened by ``now`` (never the future)."""
    return Period(period.start, max(period.start, min(period.end, now)))
