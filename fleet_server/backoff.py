"""Exponential backoff with full jitter, in one small helper."""

from __future__ import annotations

import random
import threading


class Backoff:
    """Delays of ``uniform(0, min(cap, base * 2**attempt))`` seconds.

    Full jitter keeps a fleet of clients that lost the same server at the same
    moment from coming back in lock-step.
    """

    def __init__(self, base: float = 0.1, cap: float = 10.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2 ** min(self.attempt, 30)))
        self.attempt += 1
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        self.attempt = 0

    def wait(self, stop: threading.Event) -> bool:
        """Sleep for the next delay; return True if ``stop`` was set meanwhile."""
        return stop.wait(self.next_delay())
