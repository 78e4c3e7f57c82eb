"""The paging query parameters every list endpoint takes (the envelope and
the SQL live in ``fleet_server.access.pagination``), and those of the keyset
lists (incidents, tickets, audit log, boards), which page by ``cursor``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from fleet_server.access.keyset import MAX_CURSOR
from fleet_server.access.pagination import (
    MAX_LIMIT,
    MAX_OFFSET,
    CursorPage,
    ListParams,
    both_cursor_and_offset,
)
from fleet_server.errors import Unprocessable

SORT_PATTERN = r"^-?[a-z_]+$"
SORT_TEXT = "field to sort by; '-' in front for descending"


def list_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
    sort: Annotated[
        str | None, Query(max_length=100, pattern=SORT_PATTERN, description=SORT_TEXT)
    ] = None,
) -> ListParams:
    return ListParams(limit=limit, offset=offset, sort=sort)


Paging = Annotated[ListParams, Depends(list_params)]


def keyset_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR,
            description="the next_cursor of the previous page (opaque); leave out for the first",
        ),
    ] = None,
    offset: Annotated[
        int | None,
        Query(
            ge=0,
            deprecated=True,
            description=f"items to skip, at most {MAX_OFFSET:,}; deprecated: page with cursor",
        ),
    ] = None,
    sort: Annotated[
        str | None, Query(max_length=100, pattern=SORT_PATTERN, description=SORT_TEXT)
    ] = None,
) -> ListParams:
    if cursor is not None and offset is not None:
        raise both_cursor_and_offset()
    if offset is not None and offset > MAX_OFFSET:
        raise Unprocessable(
            f"offset: at most {MAX_OFFSET:,}; page further with cursor (each page's next_cursor)",
            field="offset",
        )
    return ListParams(limit=limit, offset=offset or 0, sort=sort, cursor=cursor or None)


KeysetPaging = Annotated[ListParams, Depends(keyset_params)]


def link_next(request: Request, response: Response, page: CursorPage[Any]) -> None:
    """``Link: <…>; rel="next"`` (RFC 8288) to the page after ``page``: the
    same request with its cursor, relative to the request's address."""
    if page.next_cursor is None:
        return
    url = request.url.remove_query_params("offset").include_query_params(cursor=page.next_cursor)
    response.headers["Link"] = f'<{url.path}?{url.query}>; rel="next"'
