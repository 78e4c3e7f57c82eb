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

The messages, dead letters and results are ``batches.py``'s types.

**Dead letters keep no secrets.** A refused payload is stored with
credentials in URLs removed (``fleet_protocol.redact``) and cut to
``keep_bytes``, next to the SHA-256 of the payload as received; topic and
detail are redacted too.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta

import psycopg
from psycopg import sql

from fleet_protocol import BoardMessage
from fleet_protocol.messages import has_credentials
from fleet_protocol.redact import redact, redact_cut
from fleet_server.logbundles.storage import without_bodies
from fleet_server.telemetry.batches import (
    Accepted,
    DeadLetterGate,
    Rejected,
    WriteResult,
    first_line,
    refusal,
    refused_by_data,
)
from fleet_server.telemetry.rows import SPECS, TableSpec, rows_for

# Ingest and the tests import the batch types from here.
__all__ = ["Accepted", "BatchWriter", "DeadLetterGate", "Rejected", "WriteResult", "count_rows"]

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


_STAGE_PREFIX = "stage_"


def _stage_name(table: str) -> str:
    return f"{_STAGE_PREFIX}{table}"


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
                first_line(exc)[:300],
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
                    refused.append(refusal(part[0], exc))
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
                log.error("dead letter refused (%s); kept in minimal form", first_line(exc))
                with self.conn.cursor() as cur:
                    self._copy(cur, "dead_letters", DEAD_LETTER_COLUMNS, [self._minimal(r, exc)])
        return len(rejected)

    def _kept(self, payload: bytes) -> bytes:
        """What is stored of a payload: compressed bodies and credentials
        removed, then cut."""
        kept = redact_cut(without_bodies(payload), self.keep_bytes)
        # Whatever the protocol would still call a credential is not kept at all.
        return b"" if has_credentials(kept) else kept

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
        detail = f"{r.detail} [dead letter refused ({first_line(exc)}); payload in base64]"
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


def count_rows(conn: Conn) -> dict[str, int]:
    """Row counts of every telemetry table (for tests, benchmarks and the CLI)."""
    counts: dict[str, int] = defaultdict(int)
    for spec in SPECS.values():
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(spec.table))
        ).fetchone()
        counts[spec.table] = int(row[0]) if row else 0  # type: ignore[call-overload]
    return dict(counts)
