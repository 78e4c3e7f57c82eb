"""SQL of the broadcast file archive (content_files), its retention query and
the inspection archive's file manifest."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from fleet_server.content.files import StoredFile

Conn = psycopg.Connection[Any]

COLUMNS = "sha256, size_bytes, media_type, filename, stored_at, backend, uploaded_by"


def lock(conn: Conn, sha256: str) -> None:
    """Serialise work on one hash until the transaction ends: an upload
    placing a file and the retention pass deleting it never interleave."""
    conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('content_file:' || %s, 0))", (sha256,)
    )


def get(conn: Conn, sha256: str) -> StoredFile | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {COLUMNS} FROM content_files WHERE sha256 = %s", (sha256,)
        ).fetchone()
    return None if row is None else StoredFile(**row)


def present(conn: Conn, hashes: list[str]) -> set[str]:
    """The hashes among ``hashes`` with a stored file."""
    if not hashes:
        return set()
    rows = conn.execute(
        "SELECT sha256 FROM content_files WHERE sha256 = ANY(%s)", (hashes,)
    ).fetchall()
    return {r[0] for r in rows}


def insert(
    conn: Conn,
    *,
    sha256: str,
    size_bytes: int,
    media_type: str,
    filename: str,
    backend: str,
    uploaded_by: str,
    now: datetime | None,
) -> StoredFile:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"""INSERT INTO content_files (sha256, size_bytes, media_type, filename, backend,
                                           uploaded_by, stored_at)
                VALUES (%s, %s, %s, %s, %s, %s, COALESCE(%s, now()))
                RETURNING {COLUMNS}""",
            (sha256, size_bytes, media_type, filename, backend, uploaded_by, now),
        ).fetchone()
    assert row is not None
    return StoredFile(**row, created=True)


def delete(conn: Conn, sha256: str) -> None:
    conn.execute("DELETE FROM content_files WHERE sha256 = %s", (sha256,))


#: A file is still needed while any of these holds (``%(since)s`` is the
#: retention cutoff): uploaded since, shown on a board since (proof of play,
#: or a display sample of the last week, which the proof-of-play job may not
#: have reached yet), named by a registry item whose validity had not
#: ended by then, or by a submission still open (Điều 10.1 workflow:
#: submitted, under appraisal, returned) or changed since.
_NEEDED = """(f.stored_at >= %(since)s
    OR EXISTS (SELECT 1 FROM play_log p
                WHERE p.content_sha256 = f.sha256 AND p.ended_at >= %(since)s)
    OR EXISTS (SELECT 1 FROM telemetry_display d
                WHERE d.stored_at >= %(recent)s AND d.content_sha256 = f.sha256)
    OR EXISTS (SELECT 1 FROM content_items c
                WHERE c.sha256 = f.sha256 AND (c.valid_to IS NULL OR c.valid_to >= %(since)s))
    OR EXISTS (SELECT 1 FROM content_submissions s
                WHERE s.sha256 = f.sha256
                  AND (s.state IN ('submitted', 'under_appraisal', 'returned')
                       OR s.updated_at >= %(since)s)))"""


#: How far back display samples are searched (index on stored_at).
RECENT_DISPLAY = timedelta(days=7)


def expired(conn: Conn, since: datetime, now: datetime, limit: int) -> list[StoredFile]:
    """Files no longer needed (see ``_NEEDED``), oldest first."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT {COLUMNS} FROM content_files f WHERE NOT {_NEEDED}"
            " ORDER BY f.stored_at, f.sha256 LIMIT %(limit)s",
            {"since": since, "recent": now - RECENT_DISPLAY, "limit": limit},
        ).fetchall()
    return [StoredFile(**r) for r in rows]


def still_expired(conn: Conn, sha256: str, since: datetime, now: datetime) -> bool:
    """Checked again under the hash's lock just before deleting."""
    row = conn.execute(
        f"SELECT NOT {_NEEDED} FROM content_files f WHERE f.sha256 = %(sha)s",
        {"since": since, "recent": now - RECENT_DISPLAY, "sha": sha256},
    ).fetchone()
    return bool(row and row[0])


def every_file(conn: Conn) -> Iterator[StoredFile]:
    """Every stored file, oldest first, read in batches (the whole archive)."""
    last = ""
    while True:
        with conn.cursor(row_factory=dict_row) as cur:
            rows = cur.execute(
                f"SELECT {COLUMNS} FROM content_files WHERE sha256 > %s ORDER BY sha256 LIMIT 500",
                (last,),
            ).fetchall()
        if not rows:
            return
        yield from (StoredFile(**r) for r in rows)
        last = rows[-1]["sha256"]


def totals(conn: Conn) -> tuple[int, int]:
    """Files stored and their bytes."""
    row = conn.execute(
        "SELECT count(*), COALESCE(sum(size_bytes), 0) FROM content_files"
    ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def played_files(
    conn: Conn, site_ids: list[int], board: str | None, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Every file shown in the period on the boards of ``site_ids`` (or the
    one ``board``): its hash, registry title and kind, first and last play,
    plays, and the stored file's size, name and media type (None when the
    archive does not hold it)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT p.content_sha256 AS sha256, min(p.started_at) AS first_played,
                      max(p.ended_at) AS last_played, count(*) AS plays,
                      min(ci.id) AS content_id, min(ci.title) AS title, min(ci.kind) AS kind,
                      min(f.size_bytes) AS size_bytes, min(f.filename) AS filename,
                      min(f.media_type) AS media_type
                 FROM play_log p JOIN boards b ON b.id = p.device_id
                 LEFT JOIN content_items ci ON ci.sha256 = p.content_sha256
                 LEFT JOIN content_files f ON f.sha256 = p.content_sha256
                WHERE p.started_at >= %(start)s AND p.started_at < %(end)s
                  AND p.content_sha256 IS NOT NULL
                  AND b.site_id = ANY(%(sites)s) AND (%(board)s::text IS NULL OR b.id = %(board)s)
                GROUP BY p.content_sha256 ORDER BY min(p.started_at), p.content_sha256""",
            {"start": start, "end": end, "sites": site_ids, "board": board},
        ).fetchall()
