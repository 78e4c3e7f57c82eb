"""Coalesced receipts for boards on the compact encoding (issue 19: 4G budget).

A board sending batches gets one every 30 s at the defaults (its heartbeat),
and a receipt per batch costs it about as many bytes down as the batch up.
So the receipts of messages that came **in a batch**, from a board this
ingest has told it holds receipts (``receipt_every_s`` and
``receipt_hold_max`` in its ``capabilities``), are held and sent:

- at most ``receipt_every_s`` after the first one held;
- at once when ``receipt_hold_max`` messages are held for the board (the
  agent keeps at least that many unreceipted: it never stalls on the wait);
- at once, together, with any receipt the board gets immediately: for a
  message not in a batch (its birth, its offline or lost state, a command's
  result) or from a board not told;
- all of them when ingest stops.

The agent waits ``receipt_every_s`` longer before it sends an unreceipted
message again on a connection where the server said so, so a held receipt
never makes it resend. A board that batches without having been told (this
ingest started after its birth) is told at its first batch, and its
receipts are held from then on. JSON boards never send batches: their
receipts go after each commit as before. What a crash loses is held
receipts only: the agent sends those messages again after its timeout and
the database drops the duplicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from fleet_server.ingest.receipts import Key


@dataclass(slots=True)
class _Held:
    since: float
    keys: list[Key] = field(default_factory=list)


class ReceiptHold:
    """Which receipts go now and which wait; used by the writer thread only."""

    def __init__(
        self, every_s: int, max_messages: int, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.every_s = every_s  # 0: never held
        self.max_messages = max_messages
        self._clock = clock
        #: board -> its held keys, in the order the first was held (so, by ``since``)
        self._held: dict[str, _Held] = {}
        self._told: set[str] = set()  # boards told this ingest holds their receipts

    @property
    def enabled(self) -> bool:
        return self.every_s > 0

    @property
    def held(self) -> int:
        """Messages whose receipt waits."""
        return sum(len(h.keys) for h in self._held.values())

    def told(self, boards: Iterable[str]) -> None:
        """These boards were told (``capabilities``) that their receipts wait."""
        if self.enabled:
            self._told.update(boards)

    def untold(self, batched: Iterable[Key]) -> list[str]:
        """Boards that sent a batch without having been told (to tell now)."""
        return sorted({board for board, _, _ in batched} - self._told) if self.enabled else []

    def route(self, immediate: Iterable[Key], batched: Iterable[Key]) -> list[Key]:
        """The keys whose receipts go now; the rest are held."""
        out = list(immediate)
        now = self._clock()
        for key in batched:
            if key[0] in self._told:
                self._held.setdefault(key[0], _Held(now)).keys.append(key)
            else:
                out.append(key)
        for board in {key[0] for key in out} | {b for b, h in self._held.items() if self._full(h)}:
            held = self._held.pop(board, None)
            if held is not None:
                out.extend(held.keys)
        return out

    def due(self, *, everything: bool = False) -> list[Key]:
        """Held keys whose time has come (all of them when ``everything``)."""
        limit = self._clock() - self.every_s
        due = []
        for board, held in self._held.items():  # oldest first: held in that order
            if not everything and held.since > limit:
                break
            due.append(board)
        return [key for board in due for key in self._held.pop(board).keys]

    def _full(self, held: _Held) -> bool:
        return len(held.keys) >= self.max_messages
