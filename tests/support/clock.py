"""The one injectable clock of the tests: a time the test moves itself.

One instant, readable in the three shapes the code under test asks for:

- ``clock()`` / ``clock.now``: the aware datetime (server code takes
  ``Callable[[], datetime]``);
- ``clock.seconds``: the same instant as epoch seconds (``time.time``-like
  parameters: the agent's spool, ingest's dead-letter allowance);
- ``clock.monotonic``: seconds for ``time.monotonic``-like parameters (the
  simulated board, the agent's delivery timeouts). Only differences of it mean
  anything, as with the real one.

The test moves it with ``advance`` and ``set``. Reads and moves are taken
under a lock: a worker thread may read it while the test moves it.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

#: Where ``monotonic`` starts: a machine up for a while, never 0 (which code
#: may take for "never happened").
MONOTONIC_START = 1000.0


class Clock:
    """Now is ``start`` (default: the real now, in UTC) until the test moves it."""

    def __init__(self, start: datetime | None = None) -> None:
        start = datetime.now(UTC) if start is None else start
        if start.tzinfo is None:
            raise ValueError("a test clock starts at an aware datetime")
        self._start = start
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self._now

    @property
    def now(self) -> datetime:
        """The clock's now (the same as calling it); move it with ``advance``/``set``."""
        return self()

    def advance(self, by: float | timedelta) -> datetime:
        """Move forward by ``by`` (seconds, or a timedelta); return the new now."""
        step = by if isinstance(by, timedelta) else timedelta(seconds=by)
        with self._lock:
            self._now += step
            return self._now

    def set(self, at: datetime) -> datetime:
        """Move to ``at`` (an aware datetime, earlier or later); return it."""
        if at.tzinfo is None:
            raise ValueError("a test clock is set to an aware datetime")
        with self._lock:
            self._now = at
            return at

    def seconds(self) -> float:
        """Now as epoch seconds, for code that takes a ``time.time``-like clock."""
        return self().timestamp()

    def monotonic(self) -> float:
        """Seconds moved since the clock was made, plus ``MONOTONIC_START``: for
        code that takes a ``time.monotonic``-like clock (setting the clock back
        moves this back too; such tests only advance it)."""
        return MONOTONIC_START + (self() - self._start).total_seconds()
