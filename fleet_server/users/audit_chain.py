"""The audit log's hash chain: verification and the head at a moment.

The database computes each row's hashes on insert (migration 0019); this
module recomputes them independently (hashlib), from the same canonical
form, defined in docs/api.md "Audit log" and migration 0019:

- fields ``chain_seq, id, at, actor, actor_user_id, action, target_type,
  target_id, address, before, after, detail``, in this order, as text;
- each as a netstring ``<UTF-8 byte length>:<text>,``, a NULL as ``-,``;
- ``at`` as UTC ``YYYY-MM-DDTHH:MM:SS.ffffffZ``, ``address`` as inet's text,
  ``before``/``after`` as jsonb's text output;
- ``row_hash = hex(SHA-256(UTF-8(prev_hash || canonical)))``, ``prev_hash``
  the previous row's ``row_hash``, 64 zeros for the first row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]

GENESIS = "0" * 64

#: The stored hashes, then the canonical fields as PostgreSQL renders them,
#: in the canonical order (ordered by the column, not its text: "10" < "9").
_CHAIN_SQL = """SELECT prev_hash, row_hash, chain_seq::text, id::text,
       to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       actor, actor_user_id::text, action, target_type, target_id,
       address::text, before::text, after::text, detail
  FROM audit_log ORDER BY audit_log.chain_seq"""


def canonical(fields: Iterable[str | None]) -> str:
    """The netstring concatenation of a row's canonical fields."""
    return "".join("-," if field is None else f"{len(field.encode())}:{field}," for field in fields)


def row_hash(prev_hash: str, fields: Sequence[str | None]) -> str:
    return hashlib.sha256((prev_hash + canonical(fields)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first link that does not hold."""

    row_id: int | None
    chain_seq: int
    problem: str
    expected: str
    found: str

    def describe(self) -> str:
        where = f"row id {self.row_id}" if self.row_id is not None else "the chain's head"
        return (
            f"{where} (chain_seq {self.chain_seq}): {self.problem}:"
            f" expected {self.expected}, found {self.found}"
        )


@dataclass(frozen=True, slots=True)
class ChainReport:
    rows: int
    head_id: int | None
    head_hash: str
    broken: ChainBreak | None

    @property
    def intact(self) -> bool:
        return self.broken is None


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last row of the chain at a moment: what an export certifies."""

    chain_seq: int
    row_id: int
    row_hash: str


def verify(conn: Conn) -> ChainReport:
    """Walk the whole chain in chain_seq order; stop at the first broken link."""
    expected_seq, prev, rows, last_id = 1, GENESIS, 0, None
    with conn.transaction(), conn.cursor(name="audit_chain_verify") as cur:
        cur.itersize = 2000
        cur.execute(_CHAIN_SQL)
        for stored_prev, stored_hash, *fields in cur:
            seq, row_id = int(fields[0]), int(fields[1])
            broken = None
            if seq != expected_seq:
                broken = ChainBreak(row_id, seq, "chain_seq gap", str(expected_seq), str(seq))
            elif stored_prev != prev:
                broken = ChainBreak(row_id, seq, "prev_hash", prev, stored_prev)
            else:
                computed = row_hash(prev, fields)
                if computed != stored_hash:
                    broken = ChainBreak(row_id, seq, "row_hash", computed, stored_hash)
            if broken is not None:
                return ChainReport(rows, last_id, prev, broken)
            rows, last_id, prev, expected_seq = rows + 1, row_id, stored_hash, seq + 1
        head = conn.execute("SELECT last_seq, last_hash FROM audit_chain_head").fetchone()
    if head is None:
        return ChainReport(rows, last_id, prev, ChainBreak(None, 0, "head", "one row", "none"))
    if int(head[0]) != rows or head[1] != prev:
        # Rows removed from the end: the head still names the last one written.
        return ChainReport(
            rows,
            last_id,
            prev,
            ChainBreak(
                None,
                int(head[0]),
                "head",
                f"{head[0]} rows ending {head[1]}",
                f"{rows} rows ending {prev}",
            ),
        )
    return ChainReport(rows, last_id, prev, None)


def head_as_of(conn: Conn, end: datetime) -> ChainHead | None:
    """The chain's last row among those recorded before ``end`` (None: none)."""
    row = conn.execute(
        "SELECT chain_seq, id, row_hash FROM audit_log WHERE at < %s"
        " ORDER BY chain_seq DESC LIMIT 1",
        (end,),
    ).fetchone()
    return None if row is None else ChainHead(int(row[0]), int(row[1]), str(row[2]))
