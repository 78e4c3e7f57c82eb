"""The pager of the console's keyset lists (incidents, tickets, audit log):
a link to the first page and one to the next, each carrying the list's
filters, the next one the page's cursor. Deep pages cost what the first
costs; there is no "page 37 of 4,000" to jump to, as in the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query

from fleet_server.access.keyset import MAX_CURSOR
from fleet_server.access.pagination import CursorPage
from fleet_server.api.console.web import FLASH, FLASH_COUNT

#: The ``cursor`` query parameter of a console list.
CursorQuery = Annotated[str | None, Query(max_length=MAX_CURSOR)]
#: Query parameters a pager's links leave out: the position, and what is
#: shown once (the language switch, a confirmation).
_DROPPED = ("cursor", "offset", "lang", FLASH, FLASH_COUNT)


def links(
    path: str, query: Mapping[str, str], page: CursorPage[Any], cursor: str | None
) -> dict[str, str | None]:
    """``first_url`` (None on the first page) and ``next_url`` (None on the last)."""
    kept = {k: v for k, v in query.items() if k not in _DROPPED and v != ""}

    def url(position: str | None) -> str:
        params = {**kept, "cursor": position} if position else kept
        return path + ("?" + urlencode(params) if params else "")

    return {
        "first_url": url(None) if cursor else None,
        "next_url": url(page.next_cursor) if page.next_cursor else None,
    }
