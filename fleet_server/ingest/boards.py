"""Which boards ingest takes messages from: the known, enabled boards, in memory.

A message of a board that is not in the database goes to the dead letters as
``unknown_board`` (when ``FLEET_INGEST_REQUIRE_KNOWN_BOARD`` is on — by
default in production), one of a disabled or removed board as
``board_disabled``. Checking a message is a dictionary lookup; the database is
read only when something changed:

* at start and on every new connection: every board (``SELECT id, enabled``);
* ``LISTEN fleet_boards``: migration 0013's trigger notifies the id of every
  board inserted, deleted, enabled or disabled; each batch polls the
  connection for them (no waiting) and looks the ids up;
* every ``FLEET_INGEST_BOARD_REFRESH_S`` (60 s): every board again, in case a
  notification was lost;
* before a message is rejected, unless what the cache knows of its board was
  read *after* the message arrived: its board is looked up (one query per
  batch for all such boards). So a board provisioned a moment ago never loses
  its first messages to a notification still on its way — its row was
  committed before it got its credentials, hence before it could publish —
  while a flood from one unknown board costs at most one indexed query per
  batch, and messages of known, enabled boards never cost a query.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable

import psycopg

from fleet_server.telemetry.storage import Accepted, Rejected

log = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[object, ...]]

CHANNEL = "fleet_boards"
UNKNOWN_BOARD = "unknown_board"
BOARD_DISABLED = "board_disabled"


class KnownBoards:
    """The writer thread's cache of boards: id → enabled."""

    def __init__(
        self,
        *,
        require_known: bool,
        refresh_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.require_known = require_known
        self.refresh_s = refresh_s
        self.clock = clock
        self._enabled: dict[str, bool] = {}
        #: Wall-clock time the last full read started; per id, its last lookup.
        self._snapshot_at = -math.inf
        self._checked: dict[str, float] = {}
        self._dirty: set[str] = set()
        self._next_full = math.inf
        self.lookups = 0
        self.full_reads = 0

    def __len__(self) -> int:
        return len(self._enabled)

    # -- database -------------------------------------------------------------------------
    def attach(self, conn: Conn) -> None:
        """Listen for board changes on ``conn`` and read every board."""
        with conn.transaction():
            conn.execute(f"LISTEN {CHANNEL}")
        self.refresh(conn)

    def _poll(self, conn: Conn) -> None:
        """Take the notifications received so far (no waiting: one poll of the
        socket, plus those psycopg kept while other queries ran)."""
        for notify in conn.notifies(timeout=0):
            if notify.channel == CHANNEL:
                self._dirty.add(notify.payload)

    def refresh(self, conn: Conn) -> None:
        """Read every board (notifications that arrive meanwhile are kept)."""
        self._dirty.clear()
        started = self.clock()
        with conn.transaction():
            rows = conn.execute("SELECT id, enabled FROM boards").fetchall()
        self._enabled = {str(r[0]): bool(r[1]) for r in rows}
        self._checked.clear()
        self._snapshot_at = started
        self._next_full = time.monotonic() + self.refresh_s
        self.full_reads += 1
        log.debug("ingest knows %d boards", len(self._enabled))

    def _lookup(self, conn: Conn, ids: Iterable[str]) -> None:
        wanted = list(ids)
        started = self.clock()
        with conn.transaction():
            rows = conn.execute(
                "SELECT id, enabled FROM boards WHERE id = ANY(%s)", (wanted,)
            ).fetchall()
        found = {str(r[0]): bool(r[1]) for r in rows}
        for board_id in wanted:
            if board_id in found:
                self._enabled[board_id] = found[board_id]
            else:
                self._enabled.pop(board_id, None)
            self._checked[board_id] = started
        self.lookups += 1

    # -- the check ------------------------------------------------------------------------
    def _refused(self, state: bool | None) -> bool:
        return state is False or (state is None and self.require_known)

    def split(self, conn: Conn, accepted: list[Accepted]) -> tuple[list[Accepted], list[Rejected]]:
        """The messages to store, and those to dead-letter with their reason."""
        self._poll(conn)
        if time.monotonic() >= self._next_full:
            self.refresh(conn)
        elif self._dirty:
            changed, self._dirty = self._dirty, set()
            self._lookup(conn, changed)
        enabled = self._enabled
        suspects = [a for a in accepted if self._refused(enabled.get(a.message.device_id))]
        if not suspects:
            return accepted, []
        stale = {
            a.message.device_id
            for a in suspects
            if max(self._snapshot_at, self._checked.get(a.message.device_id, -math.inf))
            < a.received_at.timestamp()
        }
        if stale:
            self._lookup(conn, stale)
        keep: list[Accepted] = []
        refused: list[Rejected] = []
        for item in accepted:
            device = item.message.device_id
            state = enabled.get(device)
            if not self._refused(state):
                keep.append(item)
                continue
            if state is None:
                reason = UNKNOWN_BOARD
                detail = f"board {device} is not in the database; provision it first"
            else:
                reason, detail = BOARD_DISABLED, f"board {device} is disabled or removed"
            refused.append(
                Rejected(item.topic, device, reason, detail, item.payload, item.received_at)
            )
        return keep, refused
