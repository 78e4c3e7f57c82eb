"""Log bundles below the HTTP layer: who may read a board's logs, and asking
a board for them (the ``collect_logs`` command).

A bundle holds a board's journal or its diagnostics (configuration without
secrets, tool output): ``diagnostics.read`` (admins, operators,
technicians; never the Border Guard nor viewers), scoped like a board read,
and every reading of one is audited (``diagnostics.read``). Asking for them
is a command (``command.send``), stored and audited like every command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import JsonValue

from fleet_protocol.logs import gunzip
from fleet_server.access import audit
from fleet_server.access.principal import Actor, Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.commands import service as commands_service
from fleet_server.commands.delivery import CommandService
from fleet_server.commands.schemas import CommandIn
from fleet_server.commands.storage import CommandRecord
from fleet_server.errors import NotFound
from fleet_server.logbundles import storage
from fleet_server.logbundles.schemas import CollectLogsIn, LogBundleList, LogBundleOut
from fleet_server.logbundles.storage import Conn
from fleet_server.settings import Settings

#: Who may read a board's logs and diagnostics.
CAPABILITY = "diagnostics.read"
MAX_PAGE = 100
#: How each kind is served.
MEDIA_TYPES = {"journal": "text/plain; charset=utf-8", "diagnostics": "application/json"}


def content_url(bundle_id: int) -> str:
    return f"/api/v1/logs/{bundle_id}"


def _out(row: dict[str, Any]) -> LogBundleOut:
    return LogBundleOut(**row, url=content_url(int(row["id"])))


def list_bundles(
    conn: Conn, user: Principal, board_id: str, *, before: int | None = None, limit: int = 20
) -> LogBundleList:
    """A board's bundles, newest first."""
    user.need(CAPABILITY)
    board_in_scope(conn, user.scope, board_id)
    limit = max(1, min(limit, MAX_PAGE))
    rows = storage.history(conn, board_id, before=before, limit=limit + 1)
    items = [_out(r) for r in rows[:limit]]
    more = len(rows) > limit
    return LogBundleList(
        board_id=board_id, items=items, next_before=items[-1].id if more and items else None
    )


@dataclass(frozen=True, slots=True)
class BundleContent:
    board_id: str
    kind: str
    media_type: str
    text: bytes
    captured_at: datetime
    since: datetime | None
    lines: int
    truncated: bool


def read_bundle(
    conn: Conn, user: Principal, actor: Actor, bundle_id: int, *, board_id: str | None = None
) -> BundleContent:
    """One bundle's text (a journal) or JSON (diagnostics), unpacked; the
    reading is audited and committed. NotFound for a bundle the caller may
    not see (another organisation's board), or not ``board_id``'s."""
    user.need(CAPABILITY)
    found = storage.bundle(conn, bundle_id)
    if found is None or board_id not in (None, found.board_id):
        raise NotFound("log bundle", bundle_id)
    board_in_scope(conn, user.scope, found.board_id, what="log bundle", ident=str(bundle_id))
    # Ingest stored only what fleet_protocol accepted: a body that unpacks.
    text = gunzip(found.body)
    audit.record(
        conn,
        actor,
        CAPABILITY,
        target_type="board",
        target_id=found.board_id,
        after={
            "bundle_id": bundle_id,
            "kind": found.kind,
            "request_id": found.request_id,
            "captured_at": found.captured_at,
        },
    )
    conn.commit()
    return BundleContent(
        found.board_id,
        found.kind,
        MEDIA_TYPES[found.kind],
        text,
        found.captured_at,
        found.since,
        found.lines,
        found.truncated,
    )


def request_logs(
    conn: Conn,
    user: Principal,
    actor: Actor,
    board_id: str,
    body: CollectLogsIn,
    *,
    commands: CommandService | None,
    settings: Settings,
    now: datetime,
) -> CommandRecord:
    """Ask a board for its logs now: a ``collect_logs`` command, sent like
    every command (checked, stored, audited as ``command.send``, committed,
    then published). The bundles arrive on the board's logs channel with
    the command's request id."""
    args: dict[str, JsonValue] = {
        "minutes": body.minutes,
        "lines": body.lines,
        "include": list(body.include),
    }
    command = CommandIn(command="collect_logs", args=args, note=body.note)
    return commands_service.send_command(
        conn, user, actor, board_id, command, commands=commands, settings=settings, now=now
    )
