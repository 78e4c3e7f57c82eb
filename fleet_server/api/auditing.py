"""Audit rows for changes made through the API (Điều 9.2), from a request.

Transitional: features moved into their folders call
``fleet_server.access.audit.record`` with an :class:`Actor`."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from fleet_server.access import audit
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Conn, client_address


def record(
    conn: Conn,
    user: Principal,
    request: Request,
    action: str,
    *,
    target_type: str,
    target_id: object,
    before: Any = None,
    after: Any = None,
    detail: str | None = None,
) -> None:
    audit.record(
        conn,
        user.acting_from(client_address(request)),
        action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        detail=detail,
    )
