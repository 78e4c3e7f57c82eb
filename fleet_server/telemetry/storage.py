"""Writing a batch of accepted messages and dead letters in one transaction.

Rows are COPYed into per-connection temporary staging tables, then moved
with ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` so a redelivered
message (same device, boot, seq) never makes a second row. The newest
message per board and kind is upserted into ``board_latest``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import psycopg
from psycopg import sql

from fleet_protocol import BoardMessage
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
)


@dataclass(frozen=True, slots=True)
class Accepted:
    message: BoardMessage
    received_at: datetime
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    topic: str
    device_id: str | None
    reason: str
    detail: str
    payload: bytes  # already truncated to what we keep
    payload_size: int
    received_at: datetime


@dataclass(slots=True)
class WriteResult:
    rows_staged: int = 0
    rows_inserted: int = 0
    dead_letters: int = 0
    by_table: dict[str, int] = field(default_factory=dict)
    rejected_by_db: list[Rejected] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return self.rows_staged - self.rows_inserted


def _stage_name(table: str) -> str:
    return f"stage_{table}"


class BatchWriter:
    """Owns the staging tables of one connection; call ``write`` per batch."""

    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self._prepared = False

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

    def write(self, accepted: list[Accepted], rejected: list[Rejected]) -> WriteResult:
        """Store everything in one transaction. On a row PostgreSQL refuses
        (e.g. a NUL character), retry message by message and dead-letter the
        offenders, so one bad message never blocks the rest."""
        self._prepare()
        result = WriteResult()
        try:
            with self.conn.transaction():
                self._write_messages(accepted, result)
                self._write_dead_letters(rejected, result)
        except (psycopg.DataError, psycopg.IntegrityError, psycopg.ProgrammingError) as exc:
            log.warning("batch refused by PostgreSQL (%s); retrying one by one", exc)
            result = WriteResult()
            with self.conn.transaction():
                for item in accepted:
                    try:
                        with self.conn.transaction():
                            self._write_messages([item], result)
                    except (psycopg.DataError, psycopg.IntegrityError) as one_exc:
                        result.rejected_by_db.append(_refused(item, one_exc))
                self._write_dead_letters(rejected + result.rejected_by_db, result)
        return result

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

    @staticmethod
    def _copy(
        cur: psycopg.Cursor[tuple[object, ...]],
        table: str,
        columns: tuple[str, ...],
        rows: Sequence[tuple[object, ...]],
    ) -> None:
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

    def _write_dead_letters(self, rejected: list[Rejected], result: WriteResult) -> None:
        if not rejected:
            return
        with self.conn.cursor() as cur:
            self._copy(
                cur,
                "dead_letters",
                DEAD_LETTER_COLUMNS,
                [
                    (
                        r.received_at,
                        _clean(r.topic),
                        r.device_id,
                        r.reason,
                        _clean(r.detail),
                        r.payload,
                        r.payload_size,
                    )
                    for r in rejected
                ],
            )
        result.dead_letters += len(rejected)


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


def _refused(item: Accepted, exc: Exception) -> Rejected:
    return Rejected(
        topic=item.topic,
        device_id=item.message.device_id,
        reason="db_rejected",
        detail=str(exc).splitlines()[0][:500],
        payload=item.payload[:DEAD_LETTER_KEEP_BYTES],
        payload_size=len(item.payload),
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
