"""SQL of the content workflow: submissions and their history."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.rows import dict_row

from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.content.schemas_workflow import EventOut, SubmissionOut
from fleet_server.content.storage import Conn

_COLUMNS = (
    "s.id, s.title, s.category, s.subcategory, s.kind, s.language, s.sha256, s.description,"
    " s.supplier_id, sup.name AS supplier_name, s.state, s.submitted_by, s.submitted_at,"
    " s.updated_at, s.content_id"
)
_FROM = "content_submissions s LEFT JOIN content_suppliers sup ON sup.id = s.supplier_id"
#: Columns a submission's fields may be changed in (resubmission).
CHANGEABLE = ("title", "category", "subcategory", "kind", "language", "sha256", "description")


@dataclass(frozen=True, slots=True)
class SubmissionFilter:
    state: str | None = None
    supplier_id: int | None = None
    category: str | None = None
    #: only this supplier's (a supplying unit's account): -1 when it has none
    only_supplier: int | None = None


def page(conn: Conn, filters: SubmissionFilter, paging: ListParams) -> Page[SubmissionOut]:
    where, params = ["TRUE"], []
    for column, value in (
        ("s.state", filters.state),
        ("s.supplier_id", filters.supplier_id),
        ("s.category", filters.category),
        ("s.supplier_id", filters.only_supplier),
    ):
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)
    return fetch_page(
        conn,
        f"SELECT {_COLUMNS} FROM {_FROM} WHERE {' AND '.join(where)}",
        params,
        paging,
        sortable=("id", "title", "state", "submitted_at", "updated_at", "category"),
        default="updated_at DESC",
        tiebreak="id DESC",
        model=SubmissionOut,
    )


def get(conn: Conn, submission_id: int, *, lock: bool = False) -> SubmissionOut | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE s.id = %s{' FOR UPDATE OF s' if lock else ''}",
            (submission_id,),
        ).fetchone()
    return None if row is None else SubmissionOut.model_validate(row)


def by_content(conn: Conn, content_id: int) -> SubmissionOut | None:
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"SELECT {_COLUMNS} FROM {_FROM} WHERE s.content_id = %s FOR UPDATE OF s",
            (content_id,),
        ).fetchone()
    return None if row is None else SubmissionOut.model_validate(row)


def history(conn: Conn, submission_id: int) -> list[EventOut]:
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT at, actor, action, from_state, to_state, comment, sha256"
            " FROM content_submission_events WHERE submission_id = %s ORDER BY id",
            (submission_id,),
        ).fetchall()
    return [EventOut.model_validate(r) for r in rows]


def insert(conn: Conn, fields: dict[str, Any], state: str, actor: str, now: datetime) -> int:
    row = conn.execute(
        "INSERT INTO content_submissions (title, category, subcategory, kind, language, sha256,"
        " description, supplier_id, state, submitted_by, submitted_at, updated_at, content_id)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            fields["title"],
            fields.get("category"),
            fields.get("subcategory"),
            fields["kind"],
            fields["language"],
            fields["sha256"],
            fields.get("description", ""),
            fields.get("supplier_id"),
            state,
            actor,
            now,
            now,
            fields.get("content_id"),
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def update(
    conn: Conn,
    submission_id: int,
    state: str,
    now: datetime,
    changes: dict[str, Any] | None = None,
    *,
    content_id: int | None = None,
) -> None:
    changes = {k: v for k, v in (changes or {}).items() if k in CHANGEABLE}
    sets = [f"{column} = %s" for column in changes]
    params: list[Any] = list(changes.values())
    if content_id is not None:
        sets.append("content_id = %s")
        params.append(content_id)
    conn.execute(
        f"UPDATE content_submissions SET {', '.join([*sets, 'state = %s', 'updated_at = %s'])}"
        " WHERE id = %s",
        [*params, state, now, submission_id],
    )


def add_event(
    conn: Conn,
    submission_id: int,
    *,
    at: datetime,
    actor: str,
    action: str,
    from_state: str | None,
    to_state: str,
    comment: str = "",
    sha256: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO content_submission_events (submission_id, at, actor, action, from_state,"
        " to_state, comment, sha256) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (submission_id, at, actor, action, from_state, to_state, comment, sha256),
    )


def counts_by_state(conn: Conn, only_supplier: int | None) -> dict[str, int]:
    rows = conn.execute(
        "SELECT state, count(*) FROM content_submissions"
        " WHERE %s::bigint IS NULL OR supplier_id = %s GROUP BY state",
        (only_supplier, only_supplier),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}
