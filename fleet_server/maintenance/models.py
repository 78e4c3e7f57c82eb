"""Maintenance windows: recurrence and the occurrences it makes. Domain
rules only: no SQL, no HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from fleet_server.errors import Conflict

Recurrence = Literal["none", "daily", "weekly"]
PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


def occurrence_end(
    first_start: datetime, first_end: datetime, recurrence: str, now: datetime
) -> datetime | None:
    """End of the occurrence covering ``now`` (one-off, or daily/weekly
    repeats of the first occurrence), None when none does."""
    period = PERIODS.get(recurrence)
    shift = ((now - first_start) // period) * period if period else timedelta(0)
    if first_start + shift <= now < first_end + shift:
        return first_end + shift
    return None


def ended_now(
    window_id: int,
    *,
    starts_at: datetime,
    ends_at: datetime,
    recurrence: str,
    current_ends_at: datetime | None,
    now: datetime,
) -> tuple[datetime, datetime]:
    """The (start, end) a window keeps when it is ended ``now``: the
    occurrence in progress ends now; a daily or weekly window stops repeating
    and is kept as its last occurrence. Conflict when there is nothing to end
    (not started yet, already over, starting this very moment)."""
    length = ends_at - starts_at
    if current_ends_at is not None:
        starts = current_ends_at - length
        if starts >= now:
            raise Conflict(
                f"maintenance window {window_id} starts this very moment; delete it to cancel it"
            )
        return starts, now
    if starts_at > now:
        raise Conflict(
            f"maintenance window {window_id} has not started yet; delete it to cancel it"
        )
    if recurrence == "none":
        raise Conflict(f"maintenance window {window_id} is already over")
    period = PERIODS[recurrence]
    starts = starts_at + ((now - starts_at) // period) * period
    return starts, starts + length
