"""SQL of the log_bundles table (migration 0041): a board's bundles, one
bundle's gzip, and the retention. Ingest writes the rows
(``telemetry.rows``, with :data:`LOG_BUNDLE_COLUMNS`)."""

from __future__ import annotations

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
