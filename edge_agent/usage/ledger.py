"""Bytes on the link per local day and month, kept in a small JSON file.

Only deltas are ever added (``add``), to the bucket of the current day, so
nothing is counted twice whatever the clock does. The current day never
moves back when the clock steps back by a little (a correction by NTP, a
fake-hwclock boot): bytes keep going to the newest day. A step back of more
than ``MAX_STEP_BACK`` means the earlier clock was wrong (set far ahead):
the ledger then follows the clock.

Written atomically (a temporary file, fsync, rename) by ``save``, which
the meter calls every minute and at shutdown: a power cut loses at most the
last minute's count (the board then under-reports; it never over-reports).
A file that cannot be read is logged and replaced by a fresh count.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import fleet_protocol.usage as fu

log = logging.getLogger(__name__)

MAX_STEP_BACK = timedelta(days=2)
#: Days and months kept in the file (the rest is forgotten).
KEEP_DAYS = 40
KEEP_MONTHS = 13
FORMAT = 1


class Ledger:
    def __init__(self, path: Path | None, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self.day: date | None = None
        self.days: dict[str, list[int]] = {}
        self.months: dict[str, list[int]] = {}
        #: the adaptive mode's factor, kept so a restart does not undo it
        self.factor = 1
        self._load()

    # -- counting ---------------------------------------------------------------------
    def current_day(self) -> date:
        """The day bytes go to now (see the module on clock steps)."""
        today = fu.local_day(datetime.fromtimestamp(self._clock(), UTC))
        if self.day is None or today > self.day or self.day - today > MAX_STEP_BACK:
            self.day = today
        return self.day

    def add(self, sent: int, received: int) -> None:
        if sent <= 0 and received <= 0:
            return
        sent, received = max(0, sent), max(0, received)
        day = self.current_day()
        for table, key in ((self.days, day.isoformat()), (self.months, fu.month_of(day))):
            bucket = table.setdefault(key, [0, 0])
            bucket[0] += sent
            bucket[1] += received

    def month_total(self) -> int:
        sent, received = self.months.get(fu.month_of(self.current_day()), (0, 0))
        return sent + received

    def report(self, counted: str) -> fu.DataUsage:
        day = self.current_day()
        month = fu.month_of(day)
        day_sent, day_received = self.days.get(day.isoformat(), (0, 0))
        month_sent, month_received = self.months.get(month, (0, 0))
        return fu.DataUsage(
            day=day.isoformat(),
            day_sent=min(day_sent, fu.MAX_DAY_BYTES),
            day_received=min(day_received, fu.MAX_DAY_BYTES),
            month=month,
            month_sent=min(max(month_sent, day_sent), fu.MAX_MONTH_BYTES),
            month_received=min(max(month_received, day_received), fu.MAX_MONTH_BYTES),
            factor=self.factor,  # type: ignore[arg-type]
            counted=counted,  # type: ignore[arg-type]
        )

    # -- the file ---------------------------------------------------------------------
    def save(self) -> None:
        if self._path is None:
            return
        self._forget_old()
        state = {
            "format": FORMAT,
            "day": None if self.day is None else self.day.isoformat(),
            "days": self.days,
            "months": self.months,
            "factor": self.factor,
        }
        temporary = self._path.with_name(self._path.name + ".tmp")
        try:
            with temporary.open("w") as f:
                json.dump(state, f, separators=(",", ":"))
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self._path)
        except OSError as exc:  # counted in memory still; saved at the next try
            log.warning("data usage %s not saved: %s", self._path, exc.strerror)
            with contextlib.suppress(OSError):
                temporary.unlink()

    def _load(self) -> None:
        if self._path is None:
            return
        try:
            state = json.loads(self._path.read_text())
            if state.get("format") != FORMAT:
                raise ValueError(f"format {state.get('format')!r}")
            self.day = None if state["day"] is None else date.fromisoformat(state["day"])
            self.days = {str(k): _pair(v) for k, v in dict(state["days"]).items()}
            self.months = {str(k): _pair(v) for k, v in dict(state["months"]).items()}
            factor = int(state.get("factor", 1))
            self.factor = factor if factor in fu.FACTORS else 1
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("data usage %s unreadable (%s): counting afresh", self._path, exc)
            self.day, self.days, self.months, self.factor = None, {}, {}, 1

    def _forget_old(self) -> None:
        for table, keep in ((self.days, KEEP_DAYS), (self.months, KEEP_MONTHS)):
            for key in sorted(table)[:-keep]:
                del table[key]


def _pair(value: object) -> list[int]:
    if not isinstance(value, list) or len(value) != 2:
        raise ValueError("a counter is not [sent, received]")
    sent, received = (int(v) for v in value)
    if sent < 0 or received < 0:
        raise ValueError("a negative counter")
    return [sent, received]
