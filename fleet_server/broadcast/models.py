"""Broadcast windows: the rules a set of windows must pass, and what the
regulation expects of it. Domain logic only: no SQL, no HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from itertools import pairwise
from typing import Literal

from fleet_server.errors import Unprocessable

Part = Literal["morning", "afternoon", "evening"]
PARTS: tuple[Part, ...] = ("morning", "afternoon", "evening")
#: Điều 8.1: at least 3 h in the morning and 3 h in the afternoon.
MIN_MINUTES = {"morning": 180, "afternoon": 180}


class WindowError(Unprocessable):
    """A set of windows refused (HTTP 422); ``field`` names the bad input
    (``windows.1.ends_at``), listed under the problem document's ``errors``
    with ``message`` (by default the whole detail)."""

    def __init__(self, field: str, detail: str, *, message: str | None = None) -> None:
        full = f"{field}: {detail}"
        super().__init__(full, field=field, errors=[{"field": field, "message": message or full}])


@dataclass(frozen=True, slots=True)
class Window:
    part: str
    starts_at: time
    ends_at: time

    @property
    def minutes(self) -> float:
        day = date(2000, 1, 1)
        span = datetime.combine(day, self.ends_at) - datetime.combine(day, self.starts_at)
        return span.total_seconds() / 60


def check(windows: Sequence[Window], *, field: str = "windows") -> list[Window]:
    """The windows sorted by start time, or a WindowError naming the first bad
    one: an unknown or repeated part, a zone on a time (they are local), an end
    not after its start, or two windows that overlap (touching is fine)."""
    seen: dict[str, int] = {}
    for i, window in enumerate(windows):
        where = f"{field}.{i}"
        if window.part not in PARTS:
            raise WindowError(f"{where}.part", f"must be one of {', '.join(PARTS)}")
        if window.part in seen:
            raise WindowError(
                f"{where}.part", f"{window.part} is given twice (also {field}.{seen[window.part]})"
            )
        seen[window.part] = i
        for name in ("starts_at", "ends_at"):
            if getattr(window, name).tzinfo is not None:
                raise WindowError(
                    f"{where}.{name}", "local time (Asia/Ho_Chi_Minh), without a zone"
                )
        if window.ends_at <= window.starts_at:
            raise WindowError(f"{where}.ends_at", "must be after starts_at")
    order = sorted(range(len(windows)), key=lambda i: windows[i].starts_at)
    for before, after in pairwise(order):
        if windows[after].starts_at < windows[before].ends_at:
            raise WindowError(
                f"{field}.{after}.starts_at",
                f"the {windows[after].part} window overlaps the {windows[before].part} window"
                f" ({windows[before].starts_at:%H:%M}–{windows[before].ends_at:%H:%M})",
            )
    return [windows[i] for i in order]


def shortfalls(windows: Sequence[Window]) -> list[tuple[str, float | None]]:
    """What falls short of Điều 8.1 (allowed, but worth a look): (part,
    hours of its window, or None when there is none)."""
    by_part = {w.part: w for w in windows}
    found: list[tuple[str, float | None]] = []
    for part, minimum in MIN_MINUTES.items():
        window = by_part.get(part)
        if window is None or window.minutes < minimum:
            found.append((part, None if window is None else window.minutes / 60))
    return found


def notes(windows: Sequence[Window]) -> list[str]:
    """The shortfalls in words (English, for the API)."""
    return [
        f"no {part} window: Điều 8.1 asks for {MIN_MINUTES[part] // 60} h in the {part}"
        if hours is None
        else f"the {part} window is {hours:.1f} h;"
        f" Điều 8.1 asks for at least {MIN_MINUTES[part] // 60} h"
        for part, hours in shortfalls(windows)
    ]
