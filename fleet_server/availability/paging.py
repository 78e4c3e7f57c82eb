"""Cursors of the availability list (docs/api.md): the position after a row
in one level's order, as the keyset lists' cursors are (base64url of a small
JSON document: format version, list, sort, the row's sort value and key).

In key order (no ``sort``) the cursor is the row's key, and the next page is
read from there in SQL. Sorted by a figure, every row of the scope is
computed anyway; the cursor is the last row's (value, key) and the page
starts after it in that order, so a row that moves meanwhile neither repeats
nor hides the others."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import Any

from fleet_server.availability.schemas import AvailabilityOut
from fleet_server.errors import Unprocessable

VERSION = 1
#: Sortable fields whose values are text (the others are numbers).
_TEXT = frozenset(
    {"board_id", "board_name", "site_code", "site_name", "organisation_code", "organisation_name"}
)


def _refuse(reason: str) -> Unprocessable:
    return Unprocessable(
        f"cursor: {reason}; use the next_cursor of a previous page of this list,"
        " or leave cursor out for the first page",
        field="cursor",
    )


def encode(level: str, sort: str | None, key: str, item: AvailabilityOut) -> str:
    """The cursor of the position just after ``item``."""
    values: list[Any] = [getattr(item, key)]
    if sort is not None:
        values.insert(0, getattr(item, sort.lstrip("-")))
    doc = {"v": VERSION, "l": f"availability-{level}", "s": sort or "", "k": values}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode(level: str, sort: str | None, cursor: str) -> list[Any]:
    """The position a cursor carries: [key] or [sort value, key]."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw.decode())
    except (binascii.Error, ValueError, RecursionError):
        raise _refuse("not a cursor of this API") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise _refuse("not a cursor of this version of the API")
    if doc.get("l") != f"availability-{level}":
        raise _refuse(f"a cursor of another list, not of availability at level {level}")
    if doc.get("s") != (sort or ""):
        raise _refuse("made for another sort; keep the sort of the page it came from")
    values = doc.get("k")
    if not isinstance(values, list) or len(values) != (1 if sort is None else 2):
        raise _refuse("not a cursor of this API")
    if not isinstance(values[-1], str) or "\x00" in values[-1]:
        raise _refuse("not a cursor of this API")
    if sort is not None and not _fits(sort.lstrip("-"), values[0]):
        raise _refuse("not a cursor of this API")
    return values


def _fits(name: str, value: Any) -> bool:
    if value is None:
        return name == "availability"  # the only figure that may be null
    if name in _TEXT:
        return isinstance(value, str) and "\x00" not in value
    return isinstance(value, int | float) and not isinstance(value, bool)


def start_after(
    items: Sequence[AvailabilityOut], sort: str | None, key: str, position: Sequence[Any]
) -> int:
    """The index of the first of ``items`` (sorted by ``sort``, nulls last,
    then by ``key``; or by ``key`` alone) after ``position`` (its sort value
    and key; or its key)."""
    if sort is None:
        return next((i for i, x in enumerate(items) if getattr(x, key) > position[0]), len(items))
    name, descending = sort.lstrip("-"), sort.startswith("-")
    value, last = position

    def after(item: AvailabilityOut) -> bool:
        mine, my_key = getattr(item, name), getattr(item, key)
        if value is None:
            return mine is None and my_key > last
        if mine is None:
            return True
        if mine != value:
            return bool(mine < value) if descending else bool(mine > value)
        return bool(my_key > last)

    return next((i for i, item in enumerate(items) if after(item)), len(items))
