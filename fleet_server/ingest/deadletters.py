"""How many dead letters one board may fill a minute; the rest are counted.

A board sending poison at full speed must flood neither the ``dead_letters``
table nor ingest's time. Per board, the first ``per_minute`` dead letters of
a minute are written in full; beyond, they are only counted per reason, and
when the board's minute is over each count becomes one dead letter of reason
``suppressed`` (the original reason and the count in its detail). Suppressed
messages are acknowledged and receipted like the others: they are kept, as
a count.

The limiter follows the batch's transaction: :meth:`DeadLetterLimiter.admit`
plans against what was committed, :meth:`DeadLetterLimiter.confirm` makes
the plan true once the batch committed; a batch written again after a
failure is simply planned again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from fleet_server.telemetry.storage import Rejected

SUPPRESSED = "suppressed"


@dataclass(slots=True)
class _Count:
    count: int
    first_at: datetime
    last_at: datetime
    topic: str


@dataclass(slots=True)
class _Window:
    """One board's minute: dead letters written, and those only counted."""

    started: float
    written: int = 0
    suppressed: dict[str, _Count] = field(default_factory=dict)

    def copy(self) -> _Window:
        return replace(self, suppressed={k: replace(v) for k, v in self.suppressed.items()})


@dataclass(slots=True)
class Admission:
    """What a batch's dead letters became: written, or counted by reason."""

    written: list[Rejected] = field(default_factory=list)
    summaries: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)


class DeadLetterLimiter:
    """Per board and minute, ``per_minute`` dead letters in full, the rest counted."""

    def __init__(
        self,
        per_minute: int,
        *,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self.clock = clock
        #: board id (None: a topic naming none) -> its current minute, as committed
        self._windows: dict[str | None, _Window] = {}
        self._plan: tuple[dict[str | None, _Window], Admission] | None = None

    def due(self) -> bool:
        """Whether a board's minute with suppressed dead letters is over."""
        now = self.clock()
        return any(
            w.suppressed and now - w.started >= self.window_s for w in self._windows.values()
        )

    def admit(self, dead: list[Rejected], *, final: bool = False) -> list[Rejected]:
        """The dead letters to write for this batch: those within each board's
        limit, plus a summary for every minute that is over (every minute
        with ``final``). Plans only; :meth:`confirm` after the commit."""
        now = self.clock()
        if not dead and not final and not self.due():
            self._plan = None
            return []
        state = dict(self._windows)
        admission = Admission()
        out: list[Rejected] = []
        for board, old in self._windows.items():
            if final or now - old.started >= self.window_s:
                out += self._summaries(board, old)
                del state[board]
        copied: set[str | None] = set()
        for letter in dead:
            board = letter.device_id
            window = state.get(board)
            if window is None:
                window = state[board] = _Window(now)
                copied.add(board)
            elif board not in copied:
                window = state[board] = window.copy()
                copied.add(board)
            if window.written < self.per_minute:
                window.written += 1
                out.append(letter)
                admission.written.append(letter)
                continue
            admission.suppressed[letter.reason] += 1
            count = window.suppressed.get(letter.reason)
            if count is None:
                window.suppressed[letter.reason] = _Count(
                    1, letter.received_at, letter.received_at, letter.topic
                )
            else:
                count.count += 1
                count.last_at = max(count.last_at, letter.received_at)
                count.topic = letter.topic
        admission.summaries = len(out) - len(admission.written)
        self._plan = (state, admission)
        return out

    def confirm(self) -> Admission:
        """The batch committed: its plan is now the state."""
        if self._plan is None:
            return Admission()
        self._windows, admission = self._plan
        self._plan = None
        return admission

    def discard(self) -> None:
        """The batch did not commit: forget its plan."""
        self._plan = None

    def pending(self) -> int:
        """Dead letters counted and not yet written as a summary."""
        return sum(c.count for w in self._windows.values() for c in w.suppressed.values())

    def _summaries(self, board: str | None, window: _Window) -> list[Rejected]:
        return [
            Rejected(
                topic=count.topic,
                device_id=board,
                reason=SUPPRESSED,
                detail=(
                    f"{count.count} more dead letters ({reason}) of this board between"
                    f" {count.first_at:%Y-%m-%d %H:%M:%S} and {count.last_at:%H:%M:%S} UTC"
                    f" were counted, not stored (limit: {self.per_minute} a minute;"
                    f" topic shown: the last one)"
                ),
                payload=None,
                received_at=count.last_at,
            )
            for reason, count in sorted(window.suppressed.items())
        ]
