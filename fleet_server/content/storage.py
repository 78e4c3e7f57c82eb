"""SQL of the approved content registry (content_items) and its audit rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from pydantic import BaseModel

from fleet_server.access import audit
from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.principal import Actor
from fleet_server.content.models import ContentItem, NewContent

Conn = psycopg.Connection[Any]
M = TypeVar("M", bound=BaseModel)

COLUMNS = (
    "id, title, kind, language, sha256, valid_from, valid_to, from_department,"
    " approved_by, approved_at"
)
#: Display samples this recent may not be in play_log yet (the proof-of-play
#: job runs behind ingest): a hash among them counts as played too.
_RECENT_DISPLAY = "7 days"
#: Has a board played the item's file? (play_log, then the recent samples.)
#: play_log is asked for the first hash from the item's on, in the hash
#: index's order: an EXISTS on the hash let the planner walk the whole table
#: (by its time index or a scan) for an item never played, judging by the
#: average plays per hash (seconds a page at 10,000 boards, issue 20).
PLAYED_SQL = f"""(coalesce((SELECT p.content_sha256 FROM play_log p
                  WHERE p.content_sha256 >= c.sha256
                  ORDER BY p.content_sha256 LIMIT 1) = c.sha256, false)
    OR EXISTS (SELECT 1 FROM telemetry_display d
                WHERE d.stored_at > now() - interval '{_RECENT_DISPLAY}'
                  AND d.content_sha256 = c.sha256))"""


@dataclass(frozen=True, slots=True)
class Filters:
    kind: str | None = None
    language: str | None = None
    #: items valid at this instant
    valid_at: datetime | None = None
    from_department: bool | None = None
    #: title contains, or the hash starts with
    q: str | None = None


def select_sql(filters: Filters) -> tuple[str, list[Any]]:
    """The registry rows matching ``filters``, with ``played`` (a board has
    shown the file), as a SELECT to page over."""
    where = ["TRUE"]
    params: list[Any] = []
    for column, value in (
        ("c.kind", filters.kind),
        ("c.language", filters.language),
        ("c.from_department", filters.from_department),
    ):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    if filters.valid_at is not None:
        where.append("c.valid_from <= %s AND (c.valid_to IS NULL OR c.valid_to > %s)")
        params += [filters.valid_at, filters.valid_at]
    if filters.q:
        where.append("(c.title ILIKE %s OR c.sha256 LIKE %s)")
        escaped = filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params += [f"%{escaped}%", f"{escaped.lower()}%"]
    sql = (
        f"SELECT {', '.join('c.' + c.strip() for c in COLUMNS.split(','))},"
        f" {PLAYED_SQL} AS played FROM content_items c WHERE {' AND '.join(where)}"
    )
    return sql, params


#: Columns of ``select_sql`` a list may be sorted by.
SORTABLE = (
    "id",
    "title",
    "kind",
    "language",
    "valid_from",
    "valid_to",
    "approved_at",
    "approved_by",
)


def page(conn: Conn, filters: Filters, paging: ListParams, *, model: type[M]) -> Page[M]:
    """One page of the registry rows matching ``filters`` (newest approval
    first unless sorted), each as ``model``."""
    sql, params = select_sql(filters)
    return fetch_page(
        conn,
        sql,
        params,
        paging,
        sortable=SORTABLE,
        default="approved_at DESC",
        tiebreak="id DESC",
        model=model,
    )


def _item(row: dict[str, Any]) -> ContentItem:
    return ContentItem(**{k: v for k, v in row.items() if k != "played"})


def items(conn: Conn, filters: Filters, limit: int) -> list[tuple[ContentItem, bool]]:
    """Matching items, newest approval first, each with ``played``."""
    sql, params = select_sql(filters)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            f"SELECT q.* FROM ({sql}) q ORDER BY q.approved_at DESC, q.id DESC LIMIT %s",
            [*params, limit],
        ).fetchall()
    return [(_item(r), bool(r["played"])) for r in rows]


def get(conn: Conn, content_id: int, *, lock: bool = False) -> ContentItem | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {COLUMNS} FROM content_items WHERE id = %s{' FOR UPDATE' if lock else ''}",
            (content_id,),
        ).fetchone()
    return None if row is None else _item(row)


def by_sha256(conn: Conn, sha256: str) -> ContentItem | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {COLUMNS} FROM content_items WHERE sha256 = %s", (sha256,)
        ).fetchone()
    return None if row is None else _item(row)


def played(conn: Conn, sha256: str) -> bool:
    row = conn.execute(
        f"SELECT {PLAYED_SQL} FROM (SELECT %s::text AS sha256) c", (sha256,)
    ).fetchone()
    return bool(row and row[0])


def insert(conn: Conn, item: NewContent, approved_by: str, now: datetime) -> ContentItem | None:
    """The new row, or None when the hash is already in the registry."""
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"""INSERT INTO content_items (title, kind, language, sha256, valid_from, valid_to,
                                          from_department, approved_by, approved_at)
                VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
                ON CONFLICT (sha256) DO NOTHING RETURNING {COLUMNS}""",
            (
                item.title,
                item.kind,
                item.language,
                item.sha256,
                item.valid_from,
                item.valid_to,
                item.from_department,
                approved_by,
                now,
            ),
        ).fetchone()
    return None if row is None else _item(row)


#: Columns an approved item may change (its hash, kind and language may not:
#: approve another item instead).
CHANGEABLE = ("title", "valid_from", "valid_to", "from_department")


def update(conn: Conn, content_id: int, changes: dict[str, Any]) -> ContentItem:
    sets = ", ".join(f"{column} = %s" for column in changes if column in CHANGEABLE)
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"UPDATE content_items SET {sets} WHERE id = %s RETURNING {COLUMNS}",
            [*(v for k, v in changes.items() if k in CHANGEABLE), content_id],
        ).fetchone()
    assert row is not None, "locked before the update"
    return _item(row)


def delete(conn: Conn, content_id: int) -> None:
    conn.execute("DELETE FROM content_items WHERE id = %s", (content_id,))


def audit_change(
    conn: Conn,
    actor: Actor,
    action: str,
    target_id: object,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str | None = None,
) -> None:
    audit.record(
        conn,
        actor,
        action,
        target_type="content",
        target_id=target_id,
        before=before,
        after=after,
        detail=detail,
    )
