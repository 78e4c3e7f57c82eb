"""The on-disk spool: every message is written here before it is published
and deleted only when the broker acknowledged it (PUBACK).

SQLite in WAL mode with ``synchronous=FULL``: a committed sample survives a
kill -9 and a power cut; at most the sample being written is lost. The spool
also keeps the agent's identity counters: the boot counter (incremented at
every start) and the sequence number, both persisted so (boot, seq) never
repeats.

Bounds: total bytes and age. When full, the oldest *telemetry* goes first;
state changes, events and command results are never dropped. What was
dropped is counted and reported in the next heartbeat.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from edge_agent.errors import SpoolError

log = logging.getLogger(__name__)

#: Kept forever (until acknowledged): state, events, command results, config reports.
PRIORITY_KEEP = 0
#: May be dropped oldest-first when the spool is full: telemetry samples.
PRIORITY_TELEMETRY = 1

_ROW_OVERHEAD = 64  # bytes of SQLite bookkeeping per row, roughly

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    topic      TEXT NOT NULL,
    payload    BLOB NOT NULL,
    priority   INTEGER NOT NULL,
    created_at REAL NOT NULL,
    size       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_drop_idx ON outbox (priority, id);
CREATE TABLE IF NOT EXISTS commands_seen (
    request_id  TEXT PRIMARY KEY,
    answered_at REAL NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class SpoolRow:
    id: int
    topic: str
    payload: bytes
    priority: int
    created_at: float


@dataclass(frozen=True, slots=True)
class SpoolStats:
    pending: int
    pending_bytes: int
    oldest_age_s: float | None
    dropped_total: int
    boot: int
    file_bytes: int


class Spool:
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 100_000_000,
        max_age_s: float = 30 * 86_400,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._clock = clock
        # The MQTT thread reserves seqs for will/birth while the main thread
        # writes samples: one lock serialises use of the one connection.
        self._lock = threading.RLock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            # Keep the WAL small: checkpoint every ~1 MiB and truncate it after.
            self._db.execute("PRAGMA wal_autocheckpoint=256")
            self._db.execute("PRAGMA journal_size_limit=2097152")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise SpoolError(f"cannot open spool {path}: {exc}") from exc
        row = self._db.execute("SELECT coalesce(sum(size), 0) FROM outbox").fetchone()
        self._bytes = int(row[0])
        self._seq = self._get("seq", 0)
        self._dropped = self._get("dropped_total", 0)
        self._last_drop_log = float("-inf")

    # -- counters ---------------------------------------------------------------------
    def _get(self, key: str, default: int) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return default if row is None else int(row[0])

    def _put(self, key: str, value: int) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def start_boot(self) -> int:
        """Increment and return the boot counter; the sequence restarts at 0."""
        with self._tx():
            boot = self._get("boot", 0) + 1
            self._put("boot", boot)
            self._put("seq", 0)
        self._seq = 0
        return boot

    @property
    def boot(self) -> int:
        with self._lock:
            return self._get("boot", 0)

    @property
    def dropped_total(self) -> int:
        return self._dropped

    def next_seq(self) -> int:
        """Reserve a sequence number (persisted before it is used)."""
        with self._tx():
            seq = self._seq
            self._put("seq", seq + 1)
        self._seq += 1
        return seq

    # -- outbox -----------------------------------------------------------------------
    def add(self, topic: str, make_payload: Callable[[int], bytes], priority: int) -> int:
        """Reserve a seq, build the payload with it and store both atomically."""
        now = self._clock()
        with self._tx():
            seq = self._seq
            payload = make_payload(seq)
            self._put("seq", seq + 1)
            size = len(payload) + len(topic) + _ROW_OVERHEAD
            self._db.execute(
                "INSERT INTO outbox (topic, payload, priority, created_at, size)"
                " VALUES (?, ?, ?, ?, ?)",
                (topic, payload, priority, now, size),
            )
            self._bytes += size
            self._seq = seq + 1
            if self._bytes > self.max_bytes:
                self._drop_oldest_telemetry()
        return seq

    def _drop_oldest_telemetry(self) -> None:
        """Free down to 95 % of the bound, so a full spool does not drop on
        every single write; log at most once a minute."""
        dropped = 0
        target = int(self.max_bytes * 0.95)
        while self._bytes > target:
            rows = self._db.execute(
                "SELECT id, size FROM outbox WHERE priority = ? ORDER BY id LIMIT 256",
                (PRIORITY_TELEMETRY,),
            ).fetchall()
            if not rows:
                break  # only state/events left: those are never dropped
            excess = self._bytes - target
            chosen: list[int] = []
            freed = 0
            for row_id, size in rows:
                chosen.append(row_id)
                freed += size
                if freed >= excess:
                    break
            self._delete_ids(chosen)
            self._bytes -= freed
            dropped += len(chosen)
        if dropped:
            self._dropped += dropped
            self._put("dropped_total", self._dropped)
            now = self._clock()
            if now - self._last_drop_log >= 60:
                self._last_drop_log = now
                log.warning(
                    "spool full (%d bytes max): dropping the oldest samples, %d so far",
                    self.max_bytes,
                    self._dropped,
                )

    def expire(self) -> int:
        """Drop telemetry older than max_age; return how many."""
        cutoff = self._clock() - self.max_age_s
        with self._tx():
            rows = self._db.execute(
                "SELECT id, size FROM outbox WHERE priority = ? AND created_at < ?",
                (PRIORITY_TELEMETRY, cutoff),
            ).fetchall()
            if rows:
                self._delete_ids([r[0] for r in rows])
                self._bytes -= sum(r[1] for r in rows)
                self._dropped += len(rows)
                self._put("dropped_total", self._dropped)
        return len(rows)

    def pending(self, after_id: int = 0, limit: int = 100) -> list[SpoolRow]:
        """Unacknowledged messages after ``after_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, topic, payload, priority, created_at FROM outbox"
                " WHERE id > ? ORDER BY id LIMIT ?",
                (after_id, limit),
            ).fetchall()
        return [SpoolRow(r[0], r[1], bytes(r[2]), r[3], r[4]) for r in rows]

    def acknowledge(self, ids: Iterable[int]) -> None:
        """Delete acknowledged messages (one transaction for the lot)."""
        chosen = list(ids)
        if not chosen:
            return
        with self._tx():
            placeholders = ",".join("?" * len(chosen))
            row = self._db.execute(
                f"SELECT coalesce(sum(size), 0) FROM outbox WHERE id IN ({placeholders})",  # noqa: S608
                chosen,
            ).fetchone()
            self._delete_ids(chosen)
            self._bytes -= int(row[0])

    def _delete_ids(self, ids: list[int]) -> None:
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            self._db.execute(
                f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(part))})",  # noqa: S608
                part,
            )

    # -- commands already answered ----------------------------------------------------
    def command_seen(self, request_id: str) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM commands_seen WHERE request_id = ?", (request_id,)
            ).fetchone()
        return row is not None

    def remember_command(self, request_id: str, keep_s: float = 7 * 86_400) -> None:
        now = self._clock()
        with self._tx():
            self._db.execute(
                "INSERT OR IGNORE INTO commands_seen (request_id, answered_at) VALUES (?, ?)",
                (request_id, now),
            )
            self._db.execute("DELETE FROM commands_seen WHERE answered_at < ?", (now - keep_s,))

    # -- housekeeping -----------------------------------------------------------------
    def stats(self) -> SpoolStats:
        with self._lock:
            row = self._db.execute("SELECT count(*), min(created_at) FROM outbox").fetchone()
        oldest = None if row[1] is None else max(0.0, self._clock() - float(row[1]))
        file_bytes = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )
        return SpoolStats(int(row[0]), self._bytes, oldest, self._dropped, self.boot, file_bytes)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _tx(self) -> _Transaction:
        return _Transaction(self._db, self._lock)


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT``; sqlite errors become SpoolError."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            self._lock.release()
            raise SpoolError(f"spool: {exc}") from exc

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                try:
                    self._db.execute("COMMIT")
                except sqlite3.Error as err:
                    self._db.execute("ROLLBACK")
                    raise SpoolError(f"spool commit failed: {err}") from err
            else:
                self._db.execute("ROLLBACK")
        finally:
            self._lock.release()
