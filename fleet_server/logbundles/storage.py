"""SQL of the log_bundles table (migration 0041): a board's bundles, one
bundle's gzip, and the retention. Ingest writes the rows
(``telemetry.rows``, with :data:`LOG_BUNDLE_COLUMNS`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

Conn = psycopg.Connection[Any]

#: The columns after the envelope's, named as ``LogBundleData``'s fields.
LOG_BUNDLE_COLUMNS = (
    "request_id",
    "kind",
    "captured_at",
    "since",
    "lines",
    "truncated",
    "original_bytes",
    "body",
)

#: a bundle's ``body`` value (its gzip in base64), the key as JSON may spell it
_BODY = re.compile(rb'("(?:body|\\u0062ody)"\s*:\s*")(?:[^"\\]|\\.)*"?')
#: gzip in base64 anywhere (``H4sI``: the magic 1f 8b 08), however it is labelled
_GZIP_BASE64 = re.compile(rb"H4sI[A-Za-z0-9+/=_-]*")
REMOVED = b"(removed)"


def _compressed(payload: bytes) -> bool:
    """Raw gzip, or a zlib stream (a batch's too: its header's check bits)."""
    if payload.startswith(b"\x1f\x8b"):
        return True
    return len(payload) >= 2 and payload[0] == 0x78 and (payload[0] * 256 + payload[1]) % 31 == 0


def without_bodies(payload: bytes) -> bytes:
    """What a dead letter may keep of a refused payload: a log bundle's body
    and every other gzip removed, a compressed payload kept as nothing. The
    URL redaction of dead letters reads text, and a credential the board
    failed to redact would otherwise be kept compressed (the reason a bundle
    is refused may be that very credential); the rest is kept."""
    if _compressed(payload):  # a prefix of it still inflates
        return REMOVED
    kept = _BODY.sub(rb'\1(removed)"', payload)
    return _GZIP_BASE64.sub(REMOVED, kept)


_LISTED = """b.id, b.device_id AS board_id, b.request_id, b.kind, b.captured_at,
             b.received_at, b.since, b.lines, b.truncated, b.original_bytes,
             octet_length(b.body) AS bytes"""


def history(conn: Conn, board_id: str, *, before: int | None, limit: int) -> list[dict[str, Any]]:
    """A board's bundles, newest first (by id: the order they were stored),
    ``limit`` of them below id ``before``."""
    where = "b.device_id = %s"
    params: list[Any] = [board_id]
    if before is not None:
        where += " AND b.id < %s"
        params.append(before)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_LISTED} FROM log_bundles b WHERE {where} ORDER BY b.id DESC LIMIT %s",
            [*params, limit],
        ).fetchall()


@dataclass(frozen=True, slots=True)
class StoredBundle:
    board_id: str
    request_id: str
    kind: str
    captured_at: datetime
    since: datetime | None
    lines: int
    truncated: bool
    body: bytes


def bundle(conn: Conn, bundle_id: int) -> StoredBundle | None:
    row = conn.execute(
        "SELECT device_id, request_id, kind, captured_at, since, lines, truncated, body"
        " FROM log_bundles WHERE id = %s",
        (bundle_id,),
    ).fetchone()
    if row is None:
        return None
    return StoredBundle(
        str(row[0]),
        str(row[1]),
        str(row[2]),
        row[3],
        row[4],
        int(row[5]),
        bool(row[6]),
        bytes(row[7]),
    )


def retention(conn: Conn, now: datetime, keep_days: int) -> int:
    """Delete the bundles captured more than ``keep_days`` ago."""
    if keep_days < 1:
        raise ValueError("log bundles must be kept at least a day")
    cur = conn.execute(
        "DELETE FROM log_bundles WHERE captured_at < %s", (now - timedelta(days=keep_days),)
    )
    return cur.rowcount
