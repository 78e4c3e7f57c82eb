"""The on-disk spool: every message is written here before it is published
and deleted only once it is delivered — on the server's receipt, or on the
broker's PUBACK in ``puback`` mode (``edge_agent.delivery`` decides).

SQLite in WAL mode with ``synchronous=FULL``: a committed sample survives a
kill -9 and a power cut; at most the sample being written is lost. Each row
carries the (boot, seq) of its message, so a receipt names the rows it
covers.

Identity counters: the boot counter (incremented at every start, kept in the
database and in ``<spool>.boot``, see ``spool_files``) and the sequence
number. Seqs are handed out from memory and persisted in blocks: the stored
``seq`` is a high-water mark above every seq this boot may have used, so a
spool reopened within a boot continues above it, and a new boot restarts at
0. Within one process the in-memory counter is the authority, so a disk that
stops taking writes never makes a seq repeat.

Bounds: total bytes and age. When full, the oldest *telemetry* goes first
(rows the broker already acknowledged before rows never sent); state
changes, events and command results are never dropped. What was
dropped is counted and reported in the next heartbeat.

Failures: every error is a ``SpoolError`` (never a raw sqlite3 error). The
in-memory counters change only after a COMMIT succeeded and are re-read from
the database after a failure. A write refused for lack of space first
releases the disk reserve, then (for new messages) drops the oldest
telemetry, and only then gives up.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import quote

from edge_agent.errors import SpoolError
from edge_agent.spool_files import BootFile, DiskReserve

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Kept forever (until delivered): state, events, command results, config reports.
PRIORITY_KEEP = 0
#: May be dropped oldest-first when the spool is full: telemetry samples.
PRIORITY_TELEMETRY = 1

SCHEMA_VERSION = 1
_ROW_OVERHEAD = 64  # bytes of SQLite bookkeeping per row, roughly
_SEQ_BLOCK = 1000  # seqs reserved per write of the high-water mark
_ROOM_BYTES = 64 * 1024  # telemetry dropped at once when the disk is full
#: Added to a boot counter read without its WAL (possibly stale) when the boot
#: file is missing too: the WAL may hold a few newer starts.
_BOOT_MARGIN = 16
_MARK_RETRY_S = 5.0  # a failing disk is not asked for every seq
_CHUNK = 500  # ids or ranges per statement (SQLite's variable limit)

_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS outbox (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        topic      TEXT NOT NULL,
        payload    BLOB NOT NULL,
        priority   INTEGER NOT NULL,
        created_at REAL NOT NULL,
        size       INTEGER NOT NULL,
        boot       INTEGER,
        seq        INTEGER
    )""",
    """CREATE TABLE IF NOT EXISTS commands_seen (
        request_id  TEXT PRIMARY KEY,
        answered_at REAL NOT NULL
    )""",
)
_INDEXES = (
    "CREATE INDEX IF NOT EXISTS outbox_drop_idx ON outbox (priority, id)",
    # Rows of spools from before schema 1 may have no (boot, seq).
    "CREATE INDEX IF NOT EXISTS outbox_receipt_idx ON outbox (boot, seq) WHERE boot IS NOT NULL",
)
# Rows written before schema 1: their (boot, seq) is in the JSON payload.
_BACKFILL = """
UPDATE outbox SET
    boot = CASE WHEN json_valid(CAST(payload AS TEXT))
                THEN json_extract(CAST(payload AS TEXT), '$.boot') END,
    seq = CASE WHEN json_valid(CAST(payload AS TEXT))
               THEN json_extract(CAST(payload AS TEXT), '$.seq') END
WHERE boot IS NULL
"""
_UNPARSED = (
    "UPDATE outbox SET boot = NULL, seq = NULL"
    " WHERE typeof(boot) != 'integer' OR typeof(seq) != 'integer'"
)


@dataclass(frozen=True, slots=True)
class SpoolRow:
    id: int
    topic: str
    payload: bytes
    priority: int
    created_at: float
    #: None for a row written before schema 1 whose payload did not name them
    boot: int | None = None
    seq: int | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """A message built outside the spool (while it could not be written)."""

    topic: str
    payload: bytes
    priority: int
    boot: int
    seq: int
    created_at: float


@dataclass(frozen=True, slots=True)
class SpoolStats:
    pending: int
    pending_bytes: int
    oldest_age_s: float | None
    dropped_total: int
    boot: int
    file_bytes: int


@dataclass(slots=True)
class _Changes:
    """What a transaction changes in the in-memory counters, applied after COMMIT."""

    rows: int = 0
    bytes: int = 0
    dropped: int = 0
    drop_reason: str | None = None
    seq: int | None = None
    seq_mark: int | None = None
    boot_saved: bool = False


class Spool:
    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int = 100_000_000,
        max_age_s: float = 30 * 86_400,
        reserve_bytes: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.max_age_s = max_age_s
        self._clock = clock
        self._boot_file = BootFile(Path(f"{path}.boot"))
        self._reserve = DiskReserve(Path(f"{path}.reserve"), reserve_bytes)
        #: Rows the broker already acknowledged (set by the delivery): when
        #: telemetry must be dropped, these go first — the server most likely
        #: has them already, while dropping a row never sent loses it for sure.
        self.sent_rows: Callable[[], Iterable[int]] = lambda: ()
        # The MQTT thread reserves seqs for will/birth while the main thread
        # writes samples: one lock serialises use of the one connection.
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        self._rows = 0
        self._bytes = 0
        self._dropped = 0
        self._boot: int | None = None  # None until started or read from the database
        self._boot_saved = True
        self._seq = 0  # next seq to hand out (memory is the authority)
        self._seq_mark = 0  # persisted: every seq below may have been used
        self._mark_retry_at = 0.0
        self._last_drop_log = float("-inf")
        # A spool on a full or failing disk still lets the agent start: every
        # use retries the open.
        with self._lock, contextlib.suppress(SpoolError):
            self._connection()

    # -- identity counters ----------------------------------------------------------------
    def start_boot(self) -> int:
        """Increment and return the boot counter; the sequence restarts at 0.

        Never fails: the new value goes to the boot file first (rewritten in
        place, so it works on a full disk), then to the database. When the
        database cannot be written the spool stays unusable and the next
        successful write records the boot there too.
        """
        with self._lock:
            from_file = self._boot_file.read()
            from_db, exact = self._stored_boot()
            last = max((v for v in (from_file, from_db) if v is not None), default=0)
            boot = last + 1
            if from_file is None and last > 0:
                # Without the file, an earlier start on a full disk may have used
                # last + 1 without saving it; a read past the WAL may be older still.
                boot += 1 if exact else _BOOT_MARGIN
            elif from_file is None and from_db is None:
                boot += _BOOT_MARGIN  # nothing readable: stay clear of any old boot
            in_file = self._boot_file.write(boot)
            self._boot, self._boot_saved = boot, False
            self._seq, self._seq_mark = 0, 0
            try:
                self._transact(lambda _db, _ch: None)  # _sync_meta saves boot and seq mark
            except SpoolError as exc:
                if in_file:
                    log.warning(
                        "spool not writable (%s); boot %d kept in %s",
                        exc,
                        boot,
                        self._boot_file.path,
                    )
                else:
                    log.error(
                        "boot %d could not be saved anywhere (%s); a later start may reuse it",
                        boot,
                        exc,
                    )
            else:
                self._reserve.ensure()
            return boot

    def _stored_boot(self) -> tuple[int | None, bool]:
        """The database's boot counter and whether it was read exactly."""
        try:
            return self._read(lambda db: _meta(db, "boot", 0)), True
        except SpoolError:
            pass
        if not self.path.exists() or self.path.stat().st_size == 0:
            return 0, True  # a new spool
        # immutable=1 reads the main file without creating the WAL index: works
        # on a full disk, but misses what only the WAL holds.
        try:
            uri = f"file:{quote(str(self.path))}?immutable=1"
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
                # Counters to report until the spool opens (the heartbeat's
                # spool_pending); exact again once it does.
                rows, size = db.execute(
                    "SELECT count(*), coalesce(sum(size), 0) FROM outbox"
                ).fetchone()
                self._rows, self._bytes = int(rows), int(size)
                self._dropped = _meta(db, "dropped_total", 0)
                return _meta(db, "boot", 0), False
        except sqlite3.Error as exc:
            log.warning("cannot read the boot counter from %s: %s", self.path, exc)
            return None, False

    @property
    def reserve_bytes(self) -> int:
        return self._reserve.size

    @reserve_bytes.setter
    def reserve_bytes(self, size: int) -> None:
        self._reserve.size = size

    @property
    def boot(self) -> int:
        with self._lock:
            return self._boot or 0

    @property
    def dropped_total(self) -> int:
        return self._dropped

    @property
    def pending_count(self) -> int:
        """Messages in the spool (not yet delivered)."""
        return self._rows

    @property
    def pending_bytes(self) -> int:
        return self._bytes

    def next_seq(self) -> int:
        """Reserve a sequence number. Never fails: it comes from memory, and
        the persisted high-water mark is moved on when the disk allows."""
        with self._lock:
            seq = self._seq
            self._seq += 1
            if self._seq > self._seq_mark and time.monotonic() >= self._mark_retry_at:
                try:
                    self._attempt(lambda db, ch: self._mark_seqs(db, ch, self._seq))
                except SpoolError as exc:
                    log.debug("seq high-water mark not saved: %s", exc)
                    self._mark_retry_at = time.monotonic() + _MARK_RETRY_S
            return seq

    def _mark_seqs(self, db: sqlite3.Connection, ch: _Changes, upto: int) -> None:
        """Make sure every seq below ``upto`` lies under the persisted mark."""
        mark = ch.seq_mark if ch.seq_mark is not None else self._seq_mark
        if upto > mark:
            ch.seq_mark = upto - 1 + _SEQ_BLOCK
            _put(db, "seq", ch.seq_mark)

    def _sync_meta(self, db: sqlite3.Connection, ch: _Changes) -> None:
        """Record a boot that started while the database could not be written."""
        if not self._boot_saved and self._boot:
            _put(db, "boot", self._boot)
            ch.boot_saved = True
            ch.seq_mark = self._seq + _SEQ_BLOCK
            _put(db, "seq", ch.seq_mark)

    # -- outbox -----------------------------------------------------------------------
    def add(
        self,
        topic: str,
        make_payload: Callable[[int], bytes],
        priority: int,
        *,
        make_room: bool = True,
    ) -> int:
        """Reserve a seq, build the payload with it and store both atomically.

        ``make_room``: on a full disk, drop the oldest telemetry to fit it;
        otherwise only the reserve is spent and a full disk is a SpoolError
        (the caller then keeps the message in memory and sends it live)."""
        now = self._clock()

        def body(db: sqlite3.Connection, ch: _Changes) -> int:
            seq = self._seq
            payload = make_payload(seq)
            ch.seq = seq + 1
            self._mark_seqs(db, ch, seq + 1)
            self._insert(db, ch, Prepared(topic, payload, priority, self._boot or 0, seq, now))
            return seq

        return self._transact(body, make_room=make_room)

    def put(self, messages: Sequence[Prepared]) -> None:
        """Store messages built while the spool could not be written (one
        transaction for the lot)."""

        def body(db: sqlite3.Connection, ch: _Changes) -> None:
            for m in messages:
                self._insert(db, ch, m)

        if messages:
            self._transact(body, make_room=True)

    def _insert(self, db: sqlite3.Connection, ch: _Changes, m: Prepared) -> None:
        size = len(m.payload) + len(m.topic) + _ROW_OVERHEAD
        db.execute(
            "INSERT INTO outbox (topic, payload, priority, created_at, size, boot, seq)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            # boot 0: a spool used without start_boot (tools, tests); no receipt names it
            (m.topic, m.payload, m.priority, m.created_at, size, m.boot or None, m.seq),
        )
        ch.rows += 1
        ch.bytes += size
        if self._bytes + ch.bytes > self.max_bytes:
            # Free down to 95 % of the bound, so a full spool does not drop on
            # every single write.
            excess = self._bytes + ch.bytes - int(self.max_bytes * 0.95)
            self._drop_telemetry(db, ch, excess, f"spool full ({self.max_bytes} bytes max)")

    def _drop_telemetry(self, db: sqlite3.Connection, ch: _Changes, amount: int, why: str) -> int:
        """Delete the oldest telemetry until ``amount`` bytes are freed."""
        dropped = 0
        freed = 0
        sent = sorted(self.sent_rows())
        while freed < amount:
            rows: list[tuple[int, int]] = []
            while sent and not rows:  # first what the broker already has, oldest first
                part, sent = sent[:256], sent[256:]
                rows = db.execute(
                    f"SELECT id, size FROM outbox WHERE priority = ?"  # noqa: S608
                    f" AND id IN ({','.join('?' * len(part))}) ORDER BY id",
                    (PRIORITY_TELEMETRY, *part),
                ).fetchall()
            if not rows:
                rows = db.execute(
                    "SELECT id, size FROM outbox WHERE priority = ? ORDER BY id LIMIT 256",
                    (PRIORITY_TELEMETRY,),
                ).fetchall()
            if not rows:
                break  # only state/events left: those are never dropped
            chosen: list[int] = []
            for row_id, size in rows:
                chosen.append(row_id)
                freed += size
                if freed >= amount:
                    break
            _delete_ids(db, chosen)
            dropped += len(chosen)
        if dropped:
            ch.rows -= dropped
            ch.bytes -= freed
            ch.dropped += dropped
            ch.drop_reason = why
            _put(db, "dropped_total", self._dropped + ch.dropped)
        return dropped

    def _make_room(self) -> bool:
        """Disk full: release the reserve and spend it at once on dropping old
        telemetry, whose pages new rows then reuse (the file need not grow)."""
        released = self._reserve.release()
        return self._drop_for_room() or released

    def _drop_for_room(self) -> bool:
        """Disk full: free pages inside the database by dropping old telemetry."""
        try:
            return (
                self._attempt(lambda db, ch: self._drop_telemetry(db, ch, _ROOM_BYTES, "disk full"))
                > 0
            )
        except SpoolError:
            return False

    def expire(self) -> int:
        """Drop telemetry older than max_age; return how many."""
        cutoff = self._clock() - self.max_age_s

        def body(db: sqlite3.Connection, ch: _Changes) -> int:
            rows = db.execute(
                "SELECT id, size FROM outbox WHERE priority = ? AND created_at < ?",
                (PRIORITY_TELEMETRY, cutoff),
            ).fetchall()
            if rows:
                _delete_ids(db, [r[0] for r in rows])
                ch.rows -= len(rows)
                ch.bytes -= sum(r[1] for r in rows)
                ch.dropped += len(rows)
                _put(db, "dropped_total", self._dropped + ch.dropped)
            return len(rows)

        return self._transact(body)

    def pending(self, after_id: int = 0, limit: int = 100) -> list[SpoolRow]:
        """Undelivered messages after ``after_id``, oldest first."""
        return self._read(
            lambda db: _rows(
                db.execute(
                    f"SELECT {_ROW_COLUMNS} FROM outbox WHERE id > ? ORDER BY id LIMIT ?",  # noqa: S608
                    (after_id, limit),
                )
            )
        )

    def rows(self, ids: Iterable[int]) -> list[SpoolRow]:
        """The rows with these ids that are still in the spool, oldest first."""
        chosen = list(ids)

        def read(db: sqlite3.Connection) -> list[SpoolRow]:
            found: list[SpoolRow] = []
            for start in range(0, len(chosen), _CHUNK):
                part = chosen[start : start + _CHUNK]
                marks = ",".join("?" * len(part))
                found += _rows(
                    db.execute(f"SELECT {_ROW_COLUMNS} FROM outbox WHERE id IN ({marks})", part)  # noqa: S608
                )
            return sorted(found, key=lambda r: r.id)

        return self._read(read) if chosen else []

    def receipted(self, boot: int, ranges: Iterable[tuple[int, int]]) -> list[int]:
        """Ids of the rows of ``boot`` whose seq lies in one of ``ranges``
        (inclusive); rows of another boot or unknown seqs are left alone."""
        spans = [(lo, hi) for lo, hi in ranges if lo <= hi]

        def read(db: sqlite3.Connection) -> list[int]:
            ids: list[int] = []
            for start in range(0, len(spans), _CHUNK // 2):
                part = spans[start : start + _CHUNK // 2]
                where = " OR ".join("seq BETWEEN ? AND ?" for _ in part)
                params: list[int] = [boot]
                for lo, hi in part:
                    params += [lo, hi]
                ids += [
                    r[0]
                    for r in db.execute(
                        f"SELECT id FROM outbox WHERE boot = ? AND ({where})",  # noqa: S608
                        params,
                    )
                ]
            return sorted(set(ids))

        return self._read(read) if spans else []

    def acknowledge(self, ids: Iterable[int]) -> None:
        """Delete delivered messages (one transaction for the lot)."""
        chosen = list(ids)

        def body(db: sqlite3.Connection, ch: _Changes) -> None:
            for start in range(0, len(chosen), _CHUNK):
                part = chosen[start : start + _CHUNK]
                marks = ",".join("?" * len(part))
                count, size = db.execute(
                    f"SELECT count(*), coalesce(sum(size), 0) FROM outbox WHERE id IN ({marks})",  # noqa: S608
                    part,
                ).fetchone()
                _delete_ids(db, part)
                ch.rows -= int(count)
                ch.bytes -= int(size)

        if chosen:
            self._transact(body)

    def acknowledge_receipt(self, boot: int, ranges: Iterable[tuple[int, int]]) -> list[int]:
        """Delete the rows a receipt covers; their ids."""
        ids = self.receipted(boot, ranges)
        self.acknowledge(ids)
        return ids

    def probe(self) -> None:
        """A small write: does the spool take writes again?"""
        now = int(self._clock())
        self._transact(lambda db, _ch: _put(db, "probed_at", now))

    # -- commands already answered ----------------------------------------------------
    def command_seen(self, request_id: str) -> bool:
        row = self._read(
            lambda db: db.execute(
                "SELECT 1 FROM commands_seen WHERE request_id = ?", (request_id,)
            ).fetchone()
        )
        return row is not None

    def remember_command(self, request_id: str, keep_s: float = 7 * 86_400) -> None:
        now = self._clock()

        def body(db: sqlite3.Connection, _ch: _Changes) -> None:
            db.execute(
                "INSERT OR IGNORE INTO commands_seen (request_id, answered_at) VALUES (?, ?)",
                (request_id, now),
            )
            db.execute("DELETE FROM commands_seen WHERE answered_at < ?", (now - keep_s,))

        self._transact(body)

    # -- housekeeping -----------------------------------------------------------------
    def stats(self) -> SpoolStats:
        row = self._read(
            lambda db: db.execute("SELECT count(*), min(created_at) FROM outbox").fetchone()
        )
        oldest = None if row[1] is None else max(0.0, self._clock() - float(row[1]))
        file_bytes = sum(
            p.stat().st_size
            for p in (self.path, Path(f"{self.path}-wal"), Path(f"{self.path}-shm"))
            if p.exists()
        )
        return SpoolStats(int(row[0]), self._bytes, oldest, self._dropped, self.boot, file_bytes)

    def maintain(self) -> None:
        """Make the disk reserve again once there is room for it."""
        self._reserve.ensure()

    def close(self) -> None:
        with self._lock:
            self._close_db()

    # -- the connection and its transactions -------------------------------------------
    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (sqlite3.Error, OSError) as exc:
            raise SpoolError(f"cannot open spool {self.path}: {exc}") from exc
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
            # Keep the WAL small: checkpoint every ~1 MiB and truncate it after.
            db.execute("PRAGMA wal_autocheckpoint=256")
            db.execute("PRAGMA journal_size_limit=2097152")
            self._migrate(db)
            self._load(db)
        except sqlite3.Error as exc:
            _rollback_quietly(db)
            db.close()
            raise SpoolError(f"cannot open spool {self.path}: {exc}") from exc
        return db

    def _migrate(self, db: sqlite3.Connection) -> None:
        """Create the schema, or bring a spool of an earlier agent up to date."""
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
        if version >= SCHEMA_VERSION:
            return
        db.execute("BEGIN IMMEDIATE")
        for statement in _TABLES:
            db.execute(statement)
        columns = {r[1] for r in db.execute("PRAGMA table_info(outbox)")}
        legacy = "boot" not in columns
        if legacy:  # a few schema pages: works on an almost full disk
            db.execute("ALTER TABLE outbox ADD COLUMN boot INTEGER")
            db.execute("ALTER TABLE outbox ADD COLUMN seq INTEGER")
        for statement in _INDEXES:
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
        if legacy:
            try:  # rewrites every row: may not fit on a full disk, and need not
                db.execute("BEGIN IMMEDIATE")
                db.execute(_BACKFILL)
                db.execute(_UNPARSED)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback_quietly(db)
                log.warning(
                    "spool %s: rows of the earlier agent keep no (boot, seq) (%s);"
                    " they are deleted on PUBACK",
                    self.path,
                    exc,
                )

    def _load(self, db: sqlite3.Connection) -> None:
        """(Re-)read the counters from the database."""
        rows, size = db.execute("SELECT count(*), coalesce(sum(size), 0) FROM outbox").fetchone()
        self._rows, self._bytes = int(rows), int(size)
        self._dropped = _meta(db, "dropped_total", 0)
        stored_boot, stored_mark = _meta(db, "boot", 0), _meta(db, "seq", 0)
        if self._boot is None:  # opened for reading or within a boot (tests, the CLI)
            self._boot, self._boot_saved = stored_boot, True
            self._seq = self._seq_mark = stored_mark
        elif stored_boot == self._boot:
            self._boot_saved = True
            self._seq_mark = stored_mark
            # A COMMIT reported as failed may still have reached the disk:
            # never hand out a seq a stored row already has.
            top = db.execute("SELECT max(seq) FROM outbox WHERE boot = ?", (self._boot,)).fetchone()
            if top[0] is not None:
                self._seq = max(self._seq, int(top[0]) + 1)
        else:
            self._boot_saved = False  # this boot started while the database could not be written
            self._seq_mark = 0

    def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            try:
                db = self._connection()
            except SpoolError:
                if not self._reserve.release():
                    raise
                db = self._connection()
            try:
                return fn(db)
            except sqlite3.Error as exc:
                raise SpoolError(f"spool {self.path}: {exc}") from exc

    def _transact(
        self, body: Callable[[sqlite3.Connection, _Changes], T], *, make_room: bool = False
    ) -> T:
        """Run ``body`` in one write transaction; when the disk refuses, release
        the reserve (and, for new messages, drop old telemetry) and try again."""
        remedies: list[Callable[[], bool]] = (
            [self._make_room, self._drop_for_room] if make_room else [self._reserve.release]
        )
        with self._lock:
            while True:
                try:
                    return self._attempt(body)
                except SpoolError:
                    while remedies:
                        if remedies.pop(0)():
                            break
                    else:
                        raise

    def _attempt(self, body: Callable[[sqlite3.Connection, _Changes], T]) -> T:
        with self._lock:
            db = self._connection()
            ch = _Changes()
            try:
                db.execute("BEGIN IMMEDIATE")
                self._sync_meta(db, ch)
                result = body(db, ch)
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._recover_from(db, ch)
                raise SpoolError(f"spool {self.path}: {exc}") from exc
            except BaseException:
                _rollback_quietly(db)
                raise
            self._apply(ch)
            return result

    def _apply(self, ch: _Changes) -> None:
        self._rows += ch.rows
        self._bytes += ch.bytes
        self._dropped += ch.dropped
        if ch.seq is not None:
            self._seq = max(self._seq, ch.seq)
        if ch.seq_mark is not None:
            self._seq_mark = ch.seq_mark
        if ch.boot_saved:
            self._boot_saved = True
        if ch.dropped and ch.drop_reason:
            now = self._clock()
            if now - self._last_drop_log >= 60:
                self._last_drop_log = now
                log.warning(
                    "%s: dropping the oldest samples, %d so far", ch.drop_reason, self._dropped
                )

    def _recover_from(self, db: sqlite3.Connection, ch: _Changes) -> None:
        """After a failed statement or COMMIT: end the transaction (SQLite may
        have rolled it back already) and re-read the counters."""
        if db.in_transaction:
            try:
                db.execute("ROLLBACK")
            except sqlite3.Error as exc:
                log.warning("spool %s: ROLLBACK failed: %s", self.path, exc)
                self._close_db()
        if self._db is not None:
            try:
                self._load(db)
                return
            except sqlite3.Error:
                self._close_db()
        # Counters are re-read at the next open; until then no seq the failed
        # transaction may have stored is handed out again.
        if ch.seq is not None:
            self._seq = max(self._seq, ch.seq)

    def _close_db(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None


_ROW_COLUMNS = "id, topic, payload, priority, created_at, boot, seq"


def _rows(cursor: sqlite3.Cursor) -> list[SpoolRow]:
    return [SpoolRow(r[0], r[1], bytes(r[2]), r[3], r[4], r[5], r[6]) for r in cursor]


def _meta(db: sqlite3.Connection, key: str, default: int) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return default if row is None else int(row[0])


def _put(db: sqlite3.Connection, key: str, value: int) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _delete_ids(db: sqlite3.Connection, ids: list[int]) -> None:
    for start in range(0, len(ids), _CHUNK):
        part = ids[start : start + _CHUNK]
        db.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(part))})", part)  # noqa: S608


def _rollback_quietly(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            db.execute("ROLLBACK")
