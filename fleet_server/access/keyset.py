"""Keyset paging ("seek" paging): a page starts after the last row of the
previous one, named by an opaque ``cursor``, instead of skipping ``offset``
rows. Each page then costs the same, the first or the two-hundredth, and a
row added or removed meanwhile neither repeats nor hides the others.

A cursor is base64url of a small JSON document: the format version, the list
it belongs to, the sort it was made for and the last row's sort key (its
values, the unique id last). It is a position only: the query that reads from
it keeps every filter and the caller's scope, so a cursor written by hand can
move a caller within what it sees, never beyond. Each value is checked
against the key's type before it reaches SQL; anything else is refused as
``Unprocessable`` naming the ``cursor`` parameter."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from fleet_server.errors import Invalid, Unprocessable

#: The cursor format; a cursor of another version is refused.
VERSION = 1
#: The longest cursor accepted (a text key of 200 characters fits).
MAX_CURSOR = 2048
Kind = Literal["int", "text", "timestamp", "date"]
_MAX_INT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Key:
    """One column of a sort key: an output column of the list's SELECT."""

    column: str
    kind: Kind
    #: NULLs sort last in both directions.
    nullable: bool = False
    #: For an enum: the values a cursor may carry (empty: any text).
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Keyset:
    """The sorts of one list and the unique key (``tiebreak``) that orders
    rows the sort leaves equal."""

    #: The list's name, written into its cursors (another list's cursor is refused).
    name: str
    tiebreak: Key
    #: Sort parameter (without '-') -> its key, or its keys (the first
    #: deciding, the next among its equals).
    sorts: Mapping[str, Key | tuple[Key, ...]]
    #: The order without a ``sort`` parameter: these sort names, ``descending``.
    default: tuple[str, ...]
    default_descending: bool = True
    #: ``sort`` aliases (e.g. ``severity`` -> ``severity_rank``).
    aliases: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Order:
    """A resolved sort: its name in cursors, its keys (tiebreak last) and
    whether each is descending."""

    name: str
    keys: tuple[Key, ...]
    descending: tuple[bool, ...]

    def sql(self) -> str:
        """``ORDER BY`` text. A column that cannot be NULL gets PostgreSQL's
        default NULLS placement, so one ascending index serves both
        directions (read backwards for descending)."""
        return ", ".join(
            f"{k.column} {'DESC' if d else 'ASC'}{' NULLS LAST' if k.nullable else ''}"
            for k, d in zip(self.keys, self.descending, strict=True)
        )


def resolve(keyset: Keyset, sort: str | None) -> Order:
    """The order a ``sort`` parameter asks for (Invalid: a field not offered)."""
    if sort is None:
        names, descending, label = keyset.default, keyset.default_descending, ""
    else:
        descending = sort.startswith("-")
        name = sort.lstrip("-")
        name = keyset.aliases.get(name, name)
        if name not in keyset.sorts:
            offered = sorted({*keyset.sorts, *keyset.aliases})
            raise Invalid(
                f"cannot sort by {sort.lstrip('-')!r}; one of: {', '.join(offered)}",
                field="sort",
            )
        names, label = (name,), ("-" if descending else "") + name
    keys: list[Key] = []
    for n in names:
        found = keyset.sorts[n]
        keys += found if isinstance(found, tuple) else (found,)
    if keyset.tiebreak not in keys:
        keys.append(keyset.tiebreak)  # in the sort's direction: one index serves the sort
    if any(k.nullable for k in keys[1:]):
        raise ValueError(f"{keyset.name}: only the first key of a sort may be nullable")
    return Order(label, tuple(keys), (descending,) * len(keys))


# -- the cursor ------------------------------------------------------------------------


def encode(keyset: Keyset, order: Order, row: Mapping[str, Any]) -> str:
    """The cursor of the position just after ``row`` in ``order``."""
    values = [_plain(row[k.column]) for k in order.keys]
    doc = {"v": VERSION, "l": keyset.name, "s": order.name, "k": values}
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if value is None or isinstance(value, int | str):
        return value
    return str(value)  # an enum value (e.g. a ticket's priority)


def _refuse(reason: str) -> Unprocessable:
    return Unprocessable(
        f"cursor: {reason}; use the next_cursor of a previous page of this list,"
        " or leave cursor out for the first page",
        field="cursor",
    )


def decode(keyset: Keyset, order: Order, cursor: str) -> list[Any]:
    """The sort-key values a cursor carries, checked against ``order``."""
    if len(cursor) > MAX_CURSOR:
        raise _refuse(f"longer than {MAX_CURSOR} characters")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        doc = json.loads(raw.decode())
    except (binascii.Error, ValueError, RecursionError):  # JSON and UTF-8 errors are ValueErrors
        raise _refuse("not a cursor of this API") from None
    if not isinstance(doc, dict) or doc.get("v") != VERSION:
        raise _refuse("not a cursor of this version of the API")
    if doc.get("l") != keyset.name:
        raise _refuse(f"a cursor of another list, not of {keyset.name}")
    if doc.get("s") != order.name:
        raise _refuse("made for another sort; keep the sort of the page it came from")
    values = doc.get("k")
    if not isinstance(values, list) or len(values) != len(order.keys):
        raise _refuse("not a cursor of this API")
    return [_checked(key, value) for key, value in zip(order.keys, values, strict=True)]


def _checked(key: Key, value: Any) -> Any:
    if value is None:
        if key.nullable:
            return None
        raise _refuse("not a cursor of this API")
    try:
        if key.kind == "int" and isinstance(value, int) and not isinstance(value, bool):
            if -_MAX_INT <= value <= _MAX_INT:
                return value
        elif key.kind == "text" and isinstance(value, str) and "\x00" not in value:
            if not key.values or value in key.values:
                return value
        elif key.kind == "timestamp" and isinstance(value, str):
            stamp = datetime.fromisoformat(value)
            if stamp.tzinfo is not None:
                return stamp
        elif key.kind == "date" and isinstance(value, str):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise _refuse("not a cursor of this API")


# -- the SQL ---------------------------------------------------------------------------


Condition = tuple[str, list[Any]]


def after(order: Order, values: Sequence[Any]) -> list[Condition]:
    """The rows after the one with these key values in ``order``, over the
    output columns (NULLs last in either direction), as conditions whose
    rows the caller joins (UNION ALL: they never overlap).

    Keys in one direction are one row comparison, ``(a, b, id) < (%s, %s,
    %s)``, which PostgreSQL turns into an index range when an index has these
    columns in this order; otherwise the first key bounds the range
    (``a <= %s``) and the rest decide among its equals. A nullable first key
    with a value gives two conditions, the values after it and the NULLs:
    one ``... OR a IS NULL`` would be a filter over the whole index."""
    first, directions = order.keys[0], order.descending
    if not first.nullable:
        return [_seek([k.column for k in order.keys], directions, values)]
    rest, rest_params = _seek([k.column for k in order.keys[1:]], directions[1:], values[1:])
    if values[0] is None:
        # among the NULLs (last): the rest of the key decides
        return [(f"{first.column} IS NULL AND {rest}", rest_params)]
    return [
        _seek([k.column for k in order.keys], directions, values),
        (f"{first.column} IS NULL", []),
    ]


def _seek(
    columns: Sequence[str], descending: Sequence[bool], values: Sequence[Any]
) -> tuple[str, list[Any]]:
    """After ``values`` in the order of ``columns`` (none of them NULL)."""
    ops = ["<" if d else ">" for d in descending]
    if len(set(ops)) == 1:
        marks = ", ".join(["%s"] * len(columns))
        return f"(({', '.join(columns)}) {ops[0]} ({marks}))", list(values)
    head, op, value = columns[0], ops[0], values[0]
    rest, params = _seek(columns[1:], descending[1:], values[1:])
    return (
        f"({head} {op}= %s AND ({head} {op} %s OR ({head} = %s AND {rest})))",
        [value, value, value, *params],
    )
