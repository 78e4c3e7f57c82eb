"""Closed local days of availability, computed once and kept (migration 0050,
docs/availability.md).

``board_availability_days`` holds every board's figures of each stored day,
as ``fleet_board_availability`` computes that day, and its state at the
day's end (``end_state``, migration 0053: today's part starts from it); days
[first_day, through) are stored. :class:`AvailabilityDaysJob` (run by the engine) closes each day
15 minutes after its local midnight and, when it has nothing to close, fills
one older day, down to the oldest board's first day (at most
``HORIZON_DAYS`` back). Each step is one transaction's work: interrupted, it
is simply done again; done again, it writes the same rows. Writes that
change a stored day (late status history, maintenance windows, a board's
site or period) recompute it through the triggers of migration 0050."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from fleet_server.localtime import local_day

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
#: A day is closed this long after its local midnight: a transaction that
#: started before midnight has committed by then (a later one is late data,
#: recomputed by the triggers).
CLOSE_AFTER = timedelta(minutes=15)
#: Days kept back from today: a request's longest period (MAX_PERIOD) and some.
HORIZON_DAYS = 400


@dataclass(frozen=True, slots=True)
class Stored:
    """The stored days [first_day, through); both None when none are."""

    first_day: date | None
    through: date | None


def stored(conn: Conn) -> Stored:
    row = conn.execute("SELECT first_day, through FROM board_availability_state").fetchone()
    return Stored(None, None) if row is None else Stored(row[0], row[1])


def _fill_day(conn: Conn, day: date) -> int:
    conn.execute("DELETE FROM board_availability_days WHERE day = %s", (day,))
    cur = conn.execute(
        "INSERT INTO board_availability_days"
        " SELECT * FROM fleet_availability_day_figures(%s, %s, NULL)",
        (day, day + timedelta(days=1)),
    )
    return cur.rowcount


def step(conn: Conn, now: datetime) -> date | None:
    """Closes the next day, or else fills the next older one; returns the day
    written (None: nothing to do). Call inside a transaction."""
    # days before it are closed, by the caller's clock and the database's
    # (the figures are cut at the database's now())
    db = conn.execute("SELECT fleet_local_day(now() - %s)", (CLOSE_AFTER,)).fetchone()
    closed_until = local_day(now - CLOSE_AFTER)
    if db is not None:
        closed_until = min(closed_until, db[0])
    row = conn.execute(
        "SELECT first_day, through FROM board_availability_state FOR UPDATE"
    ).fetchone()
    if row is None:
        raise RuntimeError("board_availability_state has no row (migration 0050)")
    first, through = row
    if first is None:
        first = through = closed_until
    if through < closed_until:
        day: date = through
        through = day + timedelta(days=1)
    else:
        oldest = conn.execute(
            "SELECT min(coalesce(installed_on, fleet_local_day(created_at))) FROM boards"
        ).fetchone()
        floor = closed_until - timedelta(days=HORIZON_DAYS)
        floor = max(floor, oldest[0]) if oldest and oldest[0] is not None else first
        if first <= floor:
            conn.execute(
                "UPDATE board_availability_state SET first_day = %s, through = %s",
                (first, through),
            )
            return None
        day = first - timedelta(days=1)
        first = day
    rows = _fill_day(conn, day)
    conn.execute(
        "UPDATE board_availability_state SET first_day = %s, through = %s", (first, through)
    )
    log.info("availability of %s stored: %d boards", day, rows)
    return day


def fill(conn: Conn, now: datetime, max_days: int | None = None) -> list[date]:
    """Steps until nothing is left (or ``max_days``), each step in its own
    transaction; the days written. ``conn`` in autocommit mode."""
    days: list[date] = []
    while max_days is None or len(days) < max_days:
        with conn.transaction():
            day = step(conn, now)
        if day is None:
            break
        days.append(day)
    return days


class AvailabilityDaysJob:
    """The engine's round: at most ``days_per_run`` days a run (one day of
    10,000 boards is about a second), every ``every_s``."""

    def __init__(self, every_s: float = 60.0, days_per_run: int = 1) -> None:
        self.every_s = every_s
        self.days_per_run = days_per_run
        self._due: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._due is None or now >= self._due

    def run(self, conn: Conn, now: datetime) -> list[date]:
        """Inside the caller's transaction."""
        self._due = now + timedelta(seconds=self.every_s)
        days: list[date] = []
        for _ in range(self.days_per_run):
            day = step(conn, now)
            if day is None:
                break
            days.append(day)
        return days
