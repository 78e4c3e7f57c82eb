"""Audit rows for changes (Điều 9.2): who, when, from where, what, and the
object before and after. The rows form a hash chain (users/audit_chain.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import psycopg
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from fleet_server.access.principal import Actor


def _plain(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    plain = to_jsonable_python(value)
    return plain if isinstance(plain, dict) else {"value": plain}


def record(
    conn: psycopg.Connection[Any],
    actor: Actor | str,
    action: str,
    *,
    target_type: str | None = None,
    target_id: object = None,
    before: Any = None,
    after: Any = None,
    detail: str | None = None,
    at: datetime | None = None,
) -> None:
    """One audit row in the caller's transaction. ``actor`` is an
    :class:`Actor`, or a bare name for the system and the command line;
    ``before`` and ``after`` are dicts or pydantic models. ``at``: when, by
    the caller's clock where the caller counts the rows against that clock
    (the login limits); else the transaction's time."""
    who = actor if isinstance(actor, Actor) else Actor(username=actor)
    before_, after_ = _plain(before), _plain(after)
    conn.execute(
        "INSERT INTO audit_log (actor, actor_user_id, action, target_type, target_id,"
        " address, before, after, detail, at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, now()))",
        (
            who.username,
            who.user_id,
            action,
            target_type,
            None if target_id is None else str(target_id),
            who.address,
            None if before_ is None else json.dumps(before_),
            None if after_ is None else json.dumps(after_),
            detail,
            at,
        ),
    )
