"""The audit log's vocabulary and the rules of its filters and export."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleet_server.errors import Invalid
from fleet_server.localtime import LOCAL_TZ
from fleet_server.reports.export import csv_cell

SORTABLE = ("id", "at", "actor", "action")
CSV_COLUMNS = (
    "id",
    "at",
    "at_local",
    "actor",
    "actor_user_id",
    "action",
    "target_type",
    "target_id",
    "address",
    "detail",
    "before",
    "after",
)


def _field(field: str, detail: str, message: str) -> Invalid:
    return Invalid(detail, errors=[{"field": field, "message": message}])


def check_period(since: datetime | None, until: datetime | None) -> None:
    """``since`` must come before ``until`` when both are given."""
    if since is not None and until is not None and since >= until:
        raise _field("since", "since: must be before until", "must be before until")


def address_network(address: str | None) -> str | None:
    """The network an ``address`` filter names (an address or CIDR), as text."""
    if not address:
        return None
    try:
        network = ipaddress.ip_network(address.strip(), strict=False)
    except ValueError:
        raise _field(
            "address",
            f"address: {address!r} is not an IP address or network",
            "not an IP address or network",
        ) from None
    return str(network)


def csv_row(row: Sequence[Any]) -> list[Any]:
    """One exported entry, in :data:`CSV_COLUMNS` order, from a row of
    (id, at, actor, actor_user_id, action, target_type, target_id, address,
    before, after, detail)."""
    (
        entry_id,
        at,
        actor,
        actor_user_id,
        action,
        ttype,
        tid,
        address,
        before,
        after,
        detail,
    ) = row
    return [
        entry_id,
        at.isoformat(),
        at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M:%S"),
        csv_cell(actor),
        csv_cell(actor_user_id),
        csv_cell(action),
        csv_cell(ttype),
        csv_cell(tid),
        csv_cell(address),
        csv_cell(detail),
        csv_cell(before),
        csv_cell(after),
    ]
