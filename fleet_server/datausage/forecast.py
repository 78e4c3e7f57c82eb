"""A board's month from its stored days, and its forecast (domain logic).

Used: the larger of the sum of the month's days and the month counter the
board reported last (they differ only when the board lost its own count).
Forecast: used, plus the average use of the last complete days (at most 7;
days without any report do not count) for the days left in the month
(fleet_protocol.usage.month_forecast, the board's calendar)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

import fleet_protocol.usage as fu
from fleet_server.datausage.models import DayUsage, MonthUsage


def window_start(at: datetime) -> tuple[str, date]:
    """(month, first day to read): the month's first day or a week back, the earlier."""
    today = fu.local_day(at)
    first = min(today.replace(day=1), today - timedelta(days=fu.FORECAST_DAYS))
    return fu.month_of(today), first


def month_usage(days: Sequence[DayUsage], at: datetime) -> MonthUsage:
    today = fu.local_day(at)
    month = fu.month_of(today)
    ordered = sorted(days, key=lambda d: d.day)
    this_month = [d for d in ordered if fu.month_of(d.day) == month and d.day <= today]
    sent = sum(d.sent for d in this_month)
    received = sum(d.received for d in this_month)
    if this_month:
        last = this_month[-1]
        sent, received = max(sent, last.month_sent), max(received, last.month_received)
    used = sent + received
    week_ago = today - timedelta(days=fu.FORECAST_DAYS)
    complete = [d.total for d in ordered if week_ago <= d.day < today]
    today_used = next((d.total for d in this_month if d.day == today), 0)
    rate = fu.daily_rate(complete, today_used, at)
    newest = ordered[-1] if ordered else None
    return MonthUsage(
        month=month,
        sent=sent,
        received=received,
        used=used,
        forecast=fu.month_forecast(used, complete, today_used, at),
        daily_rate=round(rate),
        factor=newest.factor if newest else 1,
        counted=newest.counted if newest else None,
        updated_at=newest.updated_at if newest else None,
        days=this_month,
    )
