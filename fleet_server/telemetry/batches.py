"""What ingest hands the batch writer (``storage.BatchWriter``) and what it
gets back: accepted messages, dead letters, the result of a write, and which
errors are about the data written (isolate the message) rather than the
connection (retry the batch)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import psycopg

from fleet_protocol import BoardMessage, ProtocolError, parse_topic

#: reason of a dead letter for a message the database refused
DB_REJECTED = "db_rejected"
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


def first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def refusal(item: Accepted, exc: BaseException) -> Rejected:
    """The dead letter of a message PostgreSQL refused."""
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
        detail=f"PostgreSQL refused the message ({code}): {first_line(exc)}"[:500],
        payload=item.payload,
        received_at=item.received_at,
    )
