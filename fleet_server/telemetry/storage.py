"""Writing a batch of accepted messages and dead letters in one transaction.

Rows are COPYed into per-connection temporary staging tables, then moved
with ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` so a redelivered
message (same device, boot, seq) never makes a second row. The newest
message per board and kind is upserted into ``board_latest``.

**Poison isolation.** A batch the database refuses because of what a
message holds (a data, integrity or cardinality error; a value psycopg
cannot adapt or encode) is written again in halves, each in a savepoint,
until every message it refuses stands alone: those become dead letters with
the database's reason, everything else commits. Staging tables are emptied
before each attempt, so one attempt never sees another's rows. An error of
the connection or of the database itself (connection lost, read-only,
missing table) is raised: the caller keeps the batch unacknowledged and
retries it.

**Dead letters keep no secrets.** A refused payload is stored with
credentials in URLs removed (``fleet_protocol.redact``) and cut to
``keep_bytes``, next to the SHA-256 of the payload as received; topic and
detail are redacted too.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from fleet_protocol import BoardMessage, ProtocolError, parse_topic
from fleet_protocol.messages import CREDENTIAL_PATTERN
from fleet_protocol.redact import redact, redact_cut
from fleet_server.telemetry.rows import SPECS, TableSpec, rows_for

log = logging.getLogger(__name__)

Conn = psycopg.Connection[tuple[object, ...]]

DEAD_LETTER_KEEP_BYTES = 4096
DEAD_LETTER_COLUMNS = (
    "received_at",
    "topic",
    "device_id",
    "reason",
    "detail",
    "payload",
    "payload_size",
    "payload_sha256",
)
#: reason of a dead letter for a message the database refused
DB_REJECTED = "db_rejected"
_CREDENTIALS = re.compile(CREDENTIAL_PATTERN.encode())
#: SQLSTATE classes of errors caused by the data written: cardinality (21),
#: data exception (22), integrity (23), feature not supported (0A), program
#: limit exceeded (54, e.g. an index row too large)
_DATA_SQLSTATE_CLASSES = frozenset({"21", "22", "23", "0A", "54"})
#: what Python raises while turning an odd message into rows (a value that
#: cannot be encoded, an int out of range, a model built without validation)
_DATA_PYTHON_ERRORS = (
    ValueError,  # UnicodeEncodeError included
    TypeError,
    ArithmeticError,
    LookupError,
    AttributeError,
    RecursionError,
)


@dataclass(frozen=True, slots=True)
class Accepted:
    message: BoardMessage
    received_at: datetime
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message to keep as a dead letter. ``payload`` is as received (the
    writer redacts and cuts it); None for a summary row without one."""

    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload: bytes | None
    received_at: datetime


#: Decides which dead letters are written (e.g. a per-board rate limit); it
#: may leave some out and add summary rows. Called once per successful write
#: attempt, with every dead letter of the batch.
DeadLetterGate = Callable[[list[Rejected]], list[Rejected]]


@dataclass(slots=True)
class WriteResult:
    rows_staged: int = 0
    rows_inserted: int = 0
    dead_letters: int = 0
    by_table: dict[str, int] = field(default_factory=dict)
    rejected_by_db: list[Rejected] = field(default_factory=list)
    #: the batch was refused as a whole and written again in parts
    isolated: bool = False

    @property
    def duplicates(self) -> int:
        return self.rows_staged - self.rows_inserted

    def add(self, other: WriteResult) -> None:
        self.rows_staged += other.rows_staged
        self.rows_inserted += other.rows_inserted
        self.dead_letters += other.dead_letters
        for table, n in other.by_table.items():
            self.by_table[table] = self.by_table.get(table, 0) + n


_STAGE_PREFIX = "stage_"


def _stage_name(table: str) -> str:
    return f"{_STAGE_PREFIX}{table}"


def refused_by_data(exc: BaseException) -> bool:
    """Whether ``exc`` is about the data written — isolating the message
    helps — rather than about the connection or the database — retrying the
    batch later helps."""
    if isinstance(exc, psycopg.Error):
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return False
        if exc.sqlstate is None:  # refused by psycopg before sending: NUL in text, no adapter
            return isinstance(
                exc, psycopg.DataError | psycopg.ProgrammingError | psycopg.NotSupportedError
            )
        return exc.sqlstate[:2] in _DATA_SQLSTATE_CLASSES
    return isinstance(exc, _DATA_PYTHON_ERRORS)


class BatchWriter:
    """Owns the staging tables of one connection; call ``write`` per batch."""

    def __init__(self, conn: Conn, *, keep_bytes: int = DEAD_LETTER_KEEP_BYTES) -> None:
        self.conn = conn
        #: how much of a dead letter's (redacted) payload is stored
        self.keep_bytes = keep_bytes
        self._prepared = False
        #: staging tables written since the transaction began: emptied before reuse
        self._staged: set[str] = set()

    def _prepare(self) -> None:
        if self._prepared:
            return
        with self.conn.transaction():
            for table in {spec.table for spec in SPECS.values()} | {"board_latest"}:
                self.conn.execute(
                    sql.SQL(
                        "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS)"
                        " ON COMMIT DELETE ROWS"
                    ).format(sql.Identifier(_stage_name(table)), sql.Identifier(table))
                )
        self._prepared = True

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        # ON COMMIT DELETE ROWS (or the rollback) leaves the staging tables empty.
        self._staged.clear()
        with self.conn.transaction():
            yield

    def write(
        self,
        accepted: list[Accepted],
        rejected: list[Rejected],
        gate: DeadLetterGate | None = None,
    ) -> WriteResult:
        """Store the messages and dead letters in one transaction.

        If PostgreSQL refuses the batch because of a message's data, the
        messages are isolated (see the module) and the offenders join the
        dead letters, so one bad message never holds back the rest and a
        batch never fails the same way twice. Anything else is raised."""
        self._prepare()
        admit: DeadLetterGate = gate or list
        result = WriteResult()
        try:
            with self._transaction():
                self._write_messages(accepted, result)
                result.dead_letters = self._write_dead_letters(admit(list(rejected)))
            return result
        except Exception as exc:
            if not refused_by_data(exc):
                raise
            log.warning(
                "batch of %d messages refused by PostgreSQL (%s); isolating the offenders",
                len(accepted),
                _first_line(exc)[:300],
            )
        result = WriteResult(isolated=True)
        with self._transaction():
            result.rejected_by_db = self._isolate(accepted, result)
            dead = admit([*rejected, *result.rejected_by_db])
            result.dead_letters = self._write_dead_letters_safely(dead)
        return result

    def _isolate(self, accepted: list[Accepted], result: WriteResult) -> list[Rejected]:
        """Write ``accepted`` in savepoints, halving what the database refuses
        until the messages it refuses stand alone (at most 2n - 1 attempts);
        return those as dead letters."""
        refused: list[Rejected] = []
        pending = [accepted]  # a stack: the left half on top, arrival order kept
        while pending:
            part = pending.pop()
            if not part:
                continue
            attempt = WriteResult()
            try:
                with self.conn.transaction():
                    self._write_messages(part, attempt)
            except Exception as exc:
                if not refused_by_data(exc):
                    raise
                if len(part) == 1:
                    refused.append(_refused(part[0], exc))
                else:
                    half = len(part) // 2
                    pending += [part[half:], part[:half]]
                continue
            result.add(attempt)
        return refused

    def _write_messages(self, accepted: list[Accepted], result: WriteResult) -> None:
        grouped: dict[str, tuple[TableSpec, list[tuple[object, ...]]]] = {}
        latest: dict[tuple[str, str], Accepted] = {}
        for item in accepted:
            spec, rows = rows_for(item.message, item.received_at)
            grouped.setdefault(spec.table, (spec, []))[1].extend(rows)
            if spec.latest_kind is not None:
                key = (item.message.device_id, spec.latest_kind)
                current = latest.get(key)
                msg = item.message
                if current is None or _newer(msg, current.message, spec.latest_kind):
                    latest[key] = item
        with self.conn.cursor() as cur:
            for table, (spec, rows) in sorted(grouped.items()):
                self._copy(cur, _stage_name(table), spec.all_columns, rows)
                cols = sql.SQL(", ").join(map(sql.Identifier, spec.all_columns))
                cur.execute(
                    sql.SQL(
                        "INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}"
                        " ON CONFLICT DO NOTHING"
                    ).format(
                        table=sql.Identifier(table),
                        cols=cols,
                        stage=sql.Identifier(_stage_name(table)),
                    )
                )
                result.rows_staged += len(rows)
                result.rows_inserted += cur.rowcount
                result.by_table[table] = result.by_table.get(table, 0) + cur.rowcount
            if latest:
                self._upsert_latest(cur, latest)
            if "board_states" in grouped:
                # Wakes the engine at commit: a last will must become "lost" at once.
                cur.execute("SELECT pg_notify('fleet_ingest', 'state')")

    def _copy(
        self,
        cur: psycopg.Cursor[tuple[object, ...]],
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[object, ...]],
    ) -> None:
        """COPY ``rows`` into ``table``; a staging table already written in
        this transaction (an earlier savepoint) is emptied first."""
        if table in self._staged:
            cur.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier(table)))
        if table.startswith(_STAGE_PREFIX):
            self._staged.add(table)
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    def _upsert_latest(
        self, cur: psycopg.Cursor[tuple[object, ...]], latest: dict[tuple[str, str], Accepted]
    ) -> None:
        """Newer is a greater (boot, seq), the board's own session order, for
        state and readings alike: the board's clock never decides that its
        newest message is older than a previous one. A replaced controller
        counts boots from 1 again: a lower boot is taken when it arrives more
        than 60 s after the current row — a birth for state; for readings
        also observed after it, so a spool replayed from an earlier boot never
        passes for current. ``observed_at`` is the server's reckoning of when
        the message was measured: received_at less the time the board held it
        (sent_at - measured_at, both on the board's clock, whose offset so
        cancels out)."""
        columns = (
            "device_id",
            "kind",
            "boot",
            "seq",
            "measured_at",
            "received_at",
            "observed_at",
            "data",
        )
        rows = []
        for (device, kind), a in sorted(latest.items()):
            held = a.message.sent_at - a.message.measured_at
            # a sent_at before measured_at holds nothing; a nonsense one (year
            # 9999) cannot push observed_at out of the calendar
            held = min(max(held, timedelta(0)), timedelta(days=3650))
            rows.append(
                (
                    device,
                    kind,
                    a.message.boot,
                    a.message.seq,
                    a.message.measured_at,
                    a.received_at,
                    a.received_at - held,
                    a.message.data.model_dump_json(),
                )
            )
        self._copy(cur, "stage_board_latest", columns, rows)
        cur.execute(
            """INSERT INTO board_latest AS l
                   (device_id, kind, boot, seq, measured_at, received_at, observed_at, data)
               SELECT device_id, kind, boot, seq, measured_at, received_at, observed_at, data
                 FROM stage_board_latest ORDER BY device_id, kind
               ON CONFLICT (device_id, kind) DO UPDATE
                  SET boot = EXCLUDED.boot, seq = EXCLUDED.seq,
                      measured_at = EXCLUDED.measured_at,
                      received_at = EXCLUDED.received_at,
                      observed_at = EXCLUDED.observed_at, data = EXCLUDED.data,
                      stored_at = now()
                WHERE (l.boot, l.seq) < (EXCLUDED.boot, EXCLUDED.seq)
                      -- a replaced controller counts boots from 1 again
                      OR (EXCLUDED.received_at > l.received_at + interval '60 s'
                          AND CASE WHEN l.kind = 'state'
                                   THEN EXCLUDED.data->>'status' = 'online'
                                   ELSE EXCLUDED.boot < l.boot
                                        AND EXCLUDED.observed_at > l.observed_at END)"""
        )

    def _write_dead_letters(self, rejected: list[Rejected]) -> int:
        if not rejected:
            return 0
        with self.conn.cursor() as cur:
            self._copy(cur, "dead_letters", DEAD_LETTER_COLUMNS, [self._row(r) for r in rejected])
        return len(rejected)

    def _write_dead_letters_safely(self, rejected: list[Rejected]) -> int:
        """Dead letters the database may refuse too (a topic or detail it
        cannot store): one by one then, and a refused one in minimal form."""
        try:
            with self.conn.transaction():
                return self._write_dead_letters(rejected)
        except Exception as exc:
            if not refused_by_data(exc):
                raise
        for r in rejected:
            try:
                with self.conn.transaction():
                    self._write_dead_letters([r])
            except Exception as exc:
                if not refused_by_data(exc):
                    raise
                log.error("dead letter refused (%s); kept in minimal form", _first_line(exc))
                with self.conn.cursor() as cur:
                    self._copy(cur, "dead_letters", DEAD_LETTER_COLUMNS, [self._minimal(r, exc)])
        return len(rejected)

    def _kept(self, payload: bytes) -> bytes:
        """What is stored of a payload: credentials removed, then cut."""
        kept = redact_cut(payload, self.keep_bytes)
        # Whatever the protocol would still call a credential is not kept at all.
        return b"" if _CREDENTIALS.search(kept) else kept

    def _row(self, r: Rejected) -> tuple[object, ...]:
        payload = r.payload if r.payload is not None else b""
        return (
            r.received_at,
            _clean(redact(r.topic)),
            r.device_id,
            r.reason,
            _clean(redact(r.detail)),
            self._kept(payload),
            len(payload),
            None if r.payload is None else hashlib.sha256(payload).digest(),
        )

    def _minimal(self, r: Rejected, exc: BaseException) -> tuple[object, ...]:
        """A dead letter nothing can refuse: ASCII text, the payload base64."""
        payload = r.payload if r.payload is not None else b""
        detail = f"{r.detail} [dead letter refused ({_first_line(exc)}); payload in base64]"
        return (
            r.received_at,
            _ascii(redact(r.topic)),
            None if r.device_id is None else _ascii(str(r.device_id)),
            _ascii(r.reason),
            _ascii(redact(detail)),
            base64.b64encode(self._kept(payload)),
            len(payload),
            None if r.payload is None else hashlib.sha256(payload).digest(),
        )


def _newer(message: BoardMessage, than: BoardMessage, kind: str) -> bool:
    """Which of two messages of one batch is a board's latest of a kind: the
    greater (boot, seq), for state and readings alike. State: a will is
    measured before its birth yet is newer. Readings: the board's clock never
    orders them — one stepped back (or a reading dated years ahead) would
    freeze the latest. A replaced controller's reset to boot 1 is the
    upsert's to recognise: it needs the time since the stored row arrived."""
    return (message.boot, message.seq) > (than.boot, than.seq)


def _clean(text: str) -> str:
    """Text columns cannot hold NUL; keep everything else as it came."""
    return text.replace("\x00", "\\0")


def _ascii(text: str) -> str:
    """Text that every database encoding stores: escapes for the rest."""
    return _clean(str(text).encode("ascii", "backslashreplace").decode("ascii"))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _refused(item: Accepted, exc: BaseException) -> Rejected:
    sqlstate = getattr(exc, "sqlstate", None)
    code = sqlstate or type(exc).__name__
    try:
        # the topic names the board (a message built without validation may not)
        device_id: str | None = parse_topic(item.topic).device_id
    except ProtocolError:
        device_id = None
    return Rejected(
        topic=item.topic,
        device_id=device_id,
        reason=DB_REJECTED,
        detail=f"PostgreSQL refused the message ({code}): {_first_line(exc)}"[:500],
        payload=item.payload,
        received_at=item.received_at,
    )


def count_rows(conn: Conn) -> dict[str, int]:
    """Row counts of every telemetry table (for tests, benchmarks and the CLI)."""
    counts: dict[str, int] = defaultdict(int)
    for spec in SPECS.values():
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(spec.table))
        ).fetchone()
        counts[spec.table] = int(row[0]) if row else 0  # type: ignore[call-overload]
    return dict(counts)
