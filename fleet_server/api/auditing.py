"""Audit rows for changes made through the API (Điều 9.2)."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from fleet_server.api.deps import Conn, client_address
from fleet_server.api.scope import Principal
from fleet_server.users.storage import audit


def _plain(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    plain = to_jsonable_python(value)
    return plain if isinstance(plain, dict) else {"value": plain}


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
    """One audit row in the request's transaction: who, when, from where,
    what, and the object before and after (dicts or pydantic models)."""
    audit(
        conn,
        user.actor,
        action,
        actor_user_id=user.user_id,
        target_type=target_type,
        target_id=str(target_id),
        address=client_address(request),
        before=_plain(before),
        after=_plain(after),
        detail=detail,
    )
