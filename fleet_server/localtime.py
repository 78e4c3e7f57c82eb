"""Local time, defined once: the province keeps Vietnam time (UTC+7, no
daylight saving since 1975). Broadcast windows, compliance days, reports,
notices and the console all read and show times in this zone."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: The IANA name, for PostgreSQL's ``AT TIME ZONE`` and for documents.
LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"


def _zone() -> tzinfo:
    # Without a tz database (a slim container) the fixed offset is the same
    # zone: Vietnam has kept UTC+7 without daylight saving since 1975.
    try:
        return ZoneInfo(LOCAL_TZ_NAME)
    except ZoneInfoNotFoundError:
        return timezone(timedelta(hours=7), "ICT")


LOCAL_TZ: tzinfo = _zone()


def local(at: datetime) -> datetime:
    """``at`` (aware) in local time."""
    return at.astimezone(LOCAL_TZ)


def local_day(at: datetime) -> date:
    """The local calendar day ``at`` falls on."""
    return at.astimezone(LOCAL_TZ).date()


def local_midnight(day: date) -> datetime:
    """The start of local ``day`` as an aware datetime."""
    return datetime.combine(day, time(0), LOCAL_TZ)
