"""The longest value each field of a console route takes, read from the
route's declaration: ``forms.Longest`` on the console's typed form
fields (also on a list's values), ``max_length`` on the others."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_args

from annotated_types import MaxLen
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from fleet_server.api.console.forms import Longest


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def _longest(metadata: Any) -> int | None:
    for item in metadata:
        if isinstance(item, Longest):
            return item.limit
    return None


def _item_longest(annotation: Any) -> int | None:
    """A list's values' ``Longest`` (``list[Annotated[str, Longest(n)]]``)."""
    for arg in get_args(annotation):
        found = _longest(getattr(arg, "__metadata__", ())) or _item_longest(arg)
        if found:
            return found
    return None


def longest_fields(route: APIRoute) -> list[tuple[str, int, bool]]:
    """(form field, its longest value, a list of values) of each form
    field declared with ``Longest``."""
    found = []
    for dependant in _dependants(route.dependant):
        for param in dependant.body_params:
            limit = _longest(param.field_info.metadata)
            if limit is not None:
                found.append((param.alias, limit, False))
                continue
            limit = _item_longest(param.field_info.annotation)
            if limit is not None:
                found.append((param.alias, limit, True))
    return found


def limits(route: APIRoute, where: str) -> dict[str, int]:
    """Field -> longest value of a route's form fields (``where`` "body")
    or query parameters ("query"), however declared."""
    found: dict[str, int] = {}
    for dependant in _dependants(route.dependant):
        params = dependant.body_params if where == "body" else dependant.query_params
        for param in params:
            metadata = param.field_info.metadata
            limit = _longest(metadata) or _item_longest(param.field_info.annotation)
            if limit is None and not _is_list(param.field_info.annotation):
                limit = next((m.max_length for m in metadata if isinstance(m, MaxLen)), None)
            if limit is not None:
                found[param.alias] = limit
    return found


def _is_list(annotation: Any) -> bool:
    return "list[" in str(annotation)
