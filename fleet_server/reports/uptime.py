"""How the report states availability, so that no line contradicts its table.

Availability = up / (up + down): time with a known state only. Time whose
state is unknown (no data from the board, the platform not yet running) is
not counted in the ratio, and the report says how much of the period it was.
When most of the period is unknown, the ratio describes a small part of it
and is **not meaningful**: the report says so instead of printing a figure
(a board heard for ten minutes of a year is not "100 % available").
"""

from __future__ import annotations

from dataclasses import dataclass

#: At least this share of the period must have a known state (up or down)
#: for the ratio to mean anything; below it the report prints no figure.
MIN_KNOWN_SHARE = 0.5


@dataclass(frozen=True, slots=True)
class Uptime:
    """Seconds up, down and of unknown state (planned maintenance excluded)."""

    up_s: float
    down_s: float
    unknown_s: float

    @property
    def expected_s(self) -> float:
        return self.up_s + self.down_s + self.unknown_s

    @property
    def known_s(self) -> float:
        return self.up_s + self.down_s

    @property
    def unknown_share(self) -> float | None:
        """Unknown time as a share of the period (None: an empty period)."""
        return self.unknown_s / self.expected_s if self.expected_s > 0 else None

    @property
    def ratio(self) -> float | None:
        """up / (up + down); None when no time had a known state."""
        return self.up_s / self.known_s if self.known_s > 0 else None

    @property
    def meaningful(self) -> bool:
        """True when the ratio exists and at least ``MIN_KNOWN_SHARE`` of the
        period had a known state."""
        return self.ratio is not None and self.known_s >= MIN_KNOWN_SHARE * self.expected_s

    @property
    def shown(self) -> float | None:
        """The ratio to print, or None when it is missing or not meaningful."""
        return self.ratio if self.meaningful else None

    def __add__(self, other: Uptime) -> Uptime:
        return Uptime(
            self.up_s + other.up_s, self.down_s + other.down_s, self.unknown_s + other.unknown_s
        )


NONE = Uptime(0.0, 0.0, 0.0)
