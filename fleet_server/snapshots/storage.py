"""SQL of the snapshots table (migration 0037): a board's pictures, one
picture's bytes. Ingest writes the rows (``telemetry.rows``); the engine's
daily upkeep deletes old ones (``telemetry.storage_upkeep.snapshot_retention``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition

Conn = psycopg.Connection[Any]

_COLUMNS = """s.id, s.device_id AS board_id, s.source, NULLIF(s.camera_id, '') AS camera_id,
              s.reason, s.request_id, s.captured_at, s.received_at, s.width, s.height,
              s.phash, octet_length(s.jpeg) AS bytes"""


def _sources(sources: Sequence[str], camera_id: str | None) -> tuple[str, list[Any]]:
    where = "s.source = ANY(%s)"
    params: list[Any] = [list(sources)]
    if camera_id is not None:
        where += " AND s.camera_id = %s"
        params.append(camera_id)
    return where, params


def history(
    conn: Conn,
    board_id: str,
    sources: Sequence[str],
    *,
    camera_id: str | None,
    before: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """A board's pictures of ``sources``, newest first (by id: the order
    they were stored), ``limit`` of them below id ``before``."""
    where, params = _sources(sources, camera_id)
    if before is not None:
        where += " AND s.id < %s"
        params.append(before)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {_COLUMNS} FROM snapshots s WHERE s.device_id = %s AND {where}"
            " ORDER BY s.id DESC LIMIT %s",
            [board_id, *params, limit],
        ).fetchall()


def latest(
    conn: Conn, board_id: str, sources: Sequence[str], *, camera_id: str | None
) -> list[dict[str, Any]]:
    """The board's newest picture (by the time it was taken) of the screen
    and of each camera, among ``sources``."""
    where, params = _sources(sources, camera_id)
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT DISTINCT ON (s.source, s.camera_id) {_COLUMNS}"
            f"  FROM snapshots s WHERE s.device_id = %s AND {where}"
            " ORDER BY s.source DESC, s.camera_id, s.captured_at DESC, s.id DESC",
            [board_id, *params],
        ).fetchall()


def latest_of_boards(
    conn: Conn, scope: Scope, board_ids: Sequence[str], source: str
) -> list[dict[str, Any]]:
    """The newest picture of ``source`` (of each camera) of each of
    ``board_ids`` that ``scope`` sees, in one query (a page of cameras)."""
    clause, params = sites_condition(scope, "b.site_id")
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT DISTINCT ON (s.device_id, s.camera_id) {_COLUMNS}"
            "  FROM snapshots s JOIN boards b ON b.id = s.device_id"
            f" WHERE s.device_id = ANY(%s) AND s.source = %s AND {clause}"
            " ORDER BY s.device_id, s.camera_id, s.captured_at DESC, s.id DESC",
            [list(board_ids), source, *params],
        ).fetchall()


@dataclass(frozen=True, slots=True)
class Picture:
    board_id: str
    source: str
    camera_id: str | None
    captured_at: datetime
    jpeg: bytes


def picture(conn: Conn, snapshot_id: int) -> Picture | None:
    row = conn.execute(
        "SELECT device_id, source, NULLIF(camera_id, ''), captured_at, jpeg"
        " FROM snapshots WHERE id = %s",
        (snapshot_id,),
    ).fetchone()
    if row is None:
        return None
    return Picture(str(row[0]), str(row[1]), row[2], row[3], bytes(row[4]))
