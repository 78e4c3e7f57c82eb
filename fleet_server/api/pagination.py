"""The paging query parameters every list endpoint takes (the envelope and
the SQL live in ``fleet_server.access.pagination``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from fleet_server.access.pagination import MAX_LIMIT, ListParams


def list_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
    sort: Annotated[
        str | None,
        Query(
            max_length=100,
            pattern=r"^-?[a-z_]+$",
            description="field to sort by; '-' in front for descending",
        ),
    ] = None,
) -> ListParams:
    return ListParams(limit=limit, offset=offset, sort=sort)


Paging = Annotated[ListParams, Depends(list_params)]
