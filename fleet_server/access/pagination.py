"""Paging, sorting and the list envelope shared by every list."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic, TypeVar

import psycopg
from psycopg.rows import dict_row
from pydantic import BaseModel

from fleet_server.access.keyset import Keyset, after, decode, encode, resolve
from fleet_server.errors import Invalid, Unprocessable

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
MAX_LIMIT = 500

#: Lists count their rows exactly up to this many; beyond it ``total`` is this
#: number and ``total_capped`` is true (counting 200,000 incidents on every page
#: would cost more than the page itself).
COUNT_CAP = 10_000
#: The deepest ``offset`` the keyset lists still take (deprecated there: a
#: page at offset n reads n rows first; ``cursor`` reads only its page).
MAX_OFFSET = 10_000


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    total_capped: bool = False


class CursorPage(Page[T], Generic[T]):
    """A page of a keyset list: ``next_cursor`` opens the next page (None:
    this is the last). ``total`` counts at most ``COUNT_CAP`` rows."""

    next_cursor: str | None = None


class ListParams(BaseModel):
    limit: int
    offset: int
    sort: str | None
    #: Keyset lists only: the page after this position (see ``access.keyset``).
    cursor: str | None = None


def order_by(sort: str | None, allowed: Mapping[str, str], default: str, tiebreak: str) -> str:
    """``ORDER BY`` text for a ``sort`` parameter, from an allow-list of
    field -> SQL expression (never the caller's text)."""
    if sort is None:
        return f"{default}, {tiebreak}"
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    expr = allowed.get(name)
    if expr is None:
        raise Invalid(f"cannot sort by {name!r}; one of: {', '.join(sorted(allowed))}")
    return f"{expr} {'DESC' if descending else 'ASC'} NULLS LAST, {tiebreak}"


def add_equal(
    where: list[str], params: list[Any], pairs: Iterable[tuple[str, object | None]]
) -> None:
    """``column = %s`` for each (column, value) whose value is given."""
    for column, value in pairs:
        if value is not None:
            where.append(f"{column} = %s")
            params.append(value)


def fetch_page(
    conn: psycopg.Connection[Any],
    select_sql: str,
    params: Sequence[Any],
    paging: ListParams,
    *,
    sortable: Sequence[str],
    default: str,
    tiebreak: str,
    model: type[M],
    count: Callable[[], int] | None = None,
) -> Page[M]:
    """Run ``select_sql`` (the filtered rows, already scoped) as one page.

    ``sortable`` names output columns of ``select_sql`` a caller may sort by;
    ``default`` and ``tiebreak`` are ORDER BY text over the same columns.
    ``count``: how many rows ``select_sql`` selects, from a cheaper source
    (e.g. counts kept by triggers) than counting them again; capped alike."""
    order = order_by(paging.sort, {name: name for name in sortable}, default, tiebreak)
    with conn.cursor(row_factory=dict_row) as cur:
        # No count(*) OVER (): it needs every row, so the planner could not
        # stop after the page (an index on the sort column does nothing).
        rows = cur.execute(
            f"SELECT q.* FROM ({select_sql}) q ORDER BY {order} LIMIT %s OFFSET %s",
            (*params, paging.limit, paging.offset),
        ).fetchall()
        capped = False
        if (rows and len(rows) < paging.limit) or (not rows and paging.offset == 0):
            total = paging.offset + len(rows)  # the last (or only) page: no need to count
        elif count is not None:
            total = count()
            if total > COUNT_CAP:
                total, capped = COUNT_CAP, True
        else:
            counted = cur.execute(
                f"SELECT count(*) AS n FROM (SELECT 1 FROM ({select_sql}) q LIMIT %s) c",
                (*params, COUNT_CAP + 1),
            ).fetchone()
            total = int(counted["n"]) if counted else 0
            if total > COUNT_CAP:
                total, capped = COUNT_CAP, True
    items = [model.model_validate(r) for r in rows]
    # not Page[M](...): pydantic keeps a parametrized class only weakly, so it was
    # collected between requests and rebuilt (ms of schema work a page)
    return Page(
        items=items, total=total, limit=paging.limit, offset=paging.offset, total_capped=capped
    )


def fetch_keyset_page(
    conn: psycopg.Connection[Any],
    select_sql: str,
    params: Sequence[Any],
    paging: ListParams,
    *,
    keyset: Keyset,
    model: type[M],
    count: Callable[[], tuple[int, bool]] | None = None,
) -> CursorPage[M]:
    """Run ``select_sql`` (the filtered rows, already scoped) as one page
    after ``paging.cursor`` (or, deprecated, after ``paging.offset`` rows),
    in one of ``keyset``'s orders, and the cursor of the page after it.
    ``count``: the capped total when the list keeps one (instead of
    counting the selection again)."""
    if paging.cursor is not None and paging.offset:
        raise both_cursor_and_offset()
    order = resolve(keyset, paging.sort)
    branches = [("TRUE", list[Any]())]
    if paging.cursor is not None:
        branches = after(order, decode(keyset, order, paging.cursor))
    # one row more than the page: whether a next page exists, without counting
    parts, part_params = [], list[Any]()
    for seek, seek_params in branches:
        parts.append(
            f"(SELECT q.* FROM ({select_sql}) q WHERE {seek}"
            f" ORDER BY {order.sql()} LIMIT %s OFFSET %s)"
        )
        part_params += [*params, *seek_params, paging.limit + 1, paging.offset]
    sql = parts[0]
    if len(parts) > 1:
        sql = f"SELECT u.* FROM ({' UNION ALL '.join(parts)}) u ORDER BY {order.sql()} LIMIT %s"
        part_params.append(paging.limit + 1)
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql, part_params).fetchall()
        more = len(rows) > paging.limit
        rows = rows[: paging.limit]
        total, capped = _total(
            cur, select_sql, params, paging, shown=len(rows), more=more, count=count
        )
    # not CursorPage[M](...): see fetch_page
    return CursorPage(
        items=[model.model_validate(r) for r in rows],
        total=total,
        limit=paging.limit,
        offset=paging.offset,
        total_capped=capped,
        next_cursor=encode(keyset, order, rows[-1]) if more else None,
    )


def _total(
    cur: psycopg.Cursor[Any],
    select_sql: str,
    params: Sequence[Any],
    paging: ListParams,
    *,
    shown: int,
    more: bool,
    count: Callable[[], tuple[int, bool]] | None = None,
) -> tuple[int, bool]:
    """The rows of the whole selection, counted up to ``COUNT_CAP``; and
    whether there are more than that."""
    if paging.cursor is None and not more and (shown or not paging.offset):
        return paging.offset + shown, False  # the first page is the only one, or the last
    if count is not None:
        return count()
    counted = cur.execute(
        f"SELECT count(*) AS n FROM (SELECT 1 FROM ({select_sql}) q LIMIT %s) c",
        (*params, COUNT_CAP + 1),
    ).fetchone()
    total = int(counted["n"]) if counted else 0
    return (COUNT_CAP, True) if total > COUNT_CAP else (total, False)


def both_cursor_and_offset() -> Unprocessable:
    message = "give either cursor or offset, not both (offset is deprecated: use cursor)"
    return Unprocessable(
        f"cursor, offset: {message}",
        errors=[{"field": "cursor", "message": message}, {"field": "offset", "message": message}],
    )


def add_search(
    where: list[str], params: list[Any], text: str | None, columns: Sequence[str]
) -> None:
    """A case-insensitive "contains ``text``" over ``columns`` (any of them),
    when ``text`` is given. ``%``, ``_`` and ``\\`` in the text are matched as
    themselves, not as LIKE wildcards."""
    if not text:
        return
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    where.append("(" + " OR ".join(f"{column} ILIKE %s" for column in columns) + ")")
    params.extend([f"%{escaped}%"] * len(columns))
