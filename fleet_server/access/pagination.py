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


def add_range(
    where: list[str], params: list[Any], column: str, since: object | None, until: object | None
) -> None:
    """``column >= since`` and ``column < until``, each when given."""
    if since is not None:
        where.append(f"{column} >= %s")
        params.append(since)
    if until is not None:
        where.append(f"{column} < %s")
        params.append(until)


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
    if (rows and len(rows) < paging.limit) or (not rows and paging.offset == 0):
        total, over = paging.offset + len(rows), False  # the last (or only) page: not counted
    elif count is not None:
        total, over = capped(count())
    else:
        total, over = count_capped(conn, f"FROM ({select_sql}) q", params)
    items = [model.model_validate(r) for r in rows]
    # not Page[M](...): pydantic keeps a parametrized class only weakly, so it was
    # collected between requests and rebuilt (ms of schema work a page)
    return Page(
        items=items, total=total, limit=paging.limit, offset=paging.offset, total_capped=over
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
    sql, sql_params = first_rows(
        [
            (
                f"SELECT q.* FROM ({select_sql}) q WHERE {seek}"
                f" ORDER BY {order.sql()} LIMIT %s OFFSET %s",
                [*params, *seek_params, paging.limit + 1, paging.offset],
            )
            for seek, seek_params in branches
        ],
        order.sql(),
        paging.limit + 1,
    )
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(sql, sql_params).fetchall()
    more = len(rows) > paging.limit
    rows = rows[: paging.limit]
    total, capped = _total(
        conn, select_sql, params, paging, shown=len(rows), more=more, count=count
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
    conn: psycopg.Connection[Any],
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
    return count_capped(conn, f"FROM ({select_sql}) q", params)


def first_rows(
    parts: Sequence[tuple[str, Sequence[Any]]], order: str, limit: int
) -> tuple[str, list[Any]]:
    """One statement (and its parameters) for the first ``limit`` rows of
    ``parts``: statements whose rows never overlap, each already in
    ``order`` (ORDER BY text over their output columns) and limited. One
    part is its own statement; several are joined (UNION ALL) and ordered
    again, so each can still be read by its own index."""
    if len(parts) == 1:
        sql, params = parts[0]
        return sql, list(params)
    selects = " UNION ALL ".join(f"({sql})" for sql, _ in parts)
    joined = [value for _, params in parts for value in params]
    return f"SELECT u.* FROM ({selects}) u ORDER BY {order} LIMIT %s", [*joined, limit]


def capped(counted: int, cap: int | None = None) -> tuple[int, bool]:
    """A count read up to ``cap + 1`` rows (default ``COUNT_CAP``, read when
    called) as (at most ``cap``, whether there are more)."""
    limit = COUNT_CAP if cap is None else cap
    return (limit, True) if counted > limit else (counted, False)


def capped_count_sql(rows: str) -> str:
    """A query counting the rows of ``rows`` (``FROM ... WHERE ...`` text)
    that stops reading one row past the cap: its last parameter, after those
    of ``rows``, is the cap plus one (see :func:`capped`)."""
    return f"SELECT count(*) FROM (SELECT 1 {rows} LIMIT %s) c"


def count_capped(
    conn: psycopg.Connection[Any], rows: str, params: Sequence[Any], cap: int | None = None
) -> tuple[int, bool]:
    """How many rows ``rows`` (``FROM ... WHERE ...`` text with ``params``)
    selects, up to ``cap`` (default ``COUNT_CAP``, read when called); and
    whether there are more."""
    limit = COUNT_CAP if cap is None else cap
    row = conn.execute(capped_count_sql(rows), [*params, limit + 1]).fetchone()
    return capped(int(row[0]) if row else 0, limit)


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
