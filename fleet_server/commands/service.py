"""Remote commands and desired configuration, below the HTTP layer
(docs/commands.md).

A command is stored, audited and committed first, then published on the API
process's MQTT connection (``delivery.CommandService``); it is then ``sent``
once the broker acknowledged it, or stays ``queued`` while the broker is
away: the background retry sends it as long as it has not expired. The
board's answer arrives through ingest and finishes the command.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta

from pydantic import ValidationError

import fleet_protocol as fp
from fleet_server.access import audit
from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Actor, Principal
from fleet_server.access.scope import Scope
from fleet_server.boards import storage as boards
from fleet_server.boards.service import board_in_scope
from fleet_server.commands import storage as store
from fleet_server.commands.delivery import CommandService
from fleet_server.commands.schemas import CommandIn, ConfigIn, ConfigStatus
from fleet_server.commands.storage import CommandRecord, CommandState, Conn
from fleet_server.commands.validation import (
    CommandRefused,
    capability_for,
    check_config,
    wire_args,
)
from fleet_server.errors import Conflict, NotFound
from fleet_server.settings import Settings

log = logging.getLogger(__name__)


def _invalid(field: str, message: str) -> CommandRefused:
    return CommandRefused(422, "validation", f"{field}: {message}", field=field)


def board_for_commands(conn: Conn, scope: Scope, board_id: str) -> None:
    """404 outside the caller's scope; 409 for a disabled board (its broker
    account is off: nothing can reach it)."""
    enabled = boards.board_enabled(conn, scope, board_id)
    if enabled is None:
        raise NotFound("board", board_id)
    if not enabled:
        raise Conflict(f"board {board_id} is disabled; enable it before sending commands")


#: Commands a board is sent one at a time: a second one while the first
#: waits for its answer is refused (409) naming the first. ``collect_logs``
#: makes the board read its journal and upload up to two 44 KB bundles over
#: a metered link: a flood of requests must not repeat that work.
ONE_AT_A_TIME = frozenset({fp.COLLECT_LOGS_COMMAND})


def _one_at_a_time(conn: Conn, board_id: str, command: str, now: datetime) -> None:
    pending = store.pending_command(conn, board_id, command, now)
    if pending is not None:
        raise Conflict(
            f"{command} {pending.request_id} to board {board_id} is still {pending.state}"
            f" (until {pending.expires_at:%Y-%m-%d %H:%M:%S %Z}); wait for its answer",
            pending_request_id=pending.request_id,
        )


def _expiry(settings: Settings, asked: int | None) -> int:
    seconds = settings.command_expires_s if asked is None else asked
    low, high = settings.command_expires_min_s, settings.command_expires_max_s
    if not low <= seconds <= high:
        raise _invalid("expires_in_s", f"must be between {low} and {high} seconds")
    return seconds


def send_command(
    conn: Conn,
    user: Principal,
    actor: Actor,
    board_id: str,
    body: CommandIn,
    *,
    commands: CommandService | None,
    settings: Settings,
    now: datetime,
) -> CommandRecord:
    """Check, store, audit and commit a command, then publish it. The kill
    switch's commands need ``board.halt`` and a reason (validation.py)."""
    user.need(capability_for(body.command))
    board_for_commands(conn, user.scope, board_id)
    seconds = _expiry(settings, body.expires_in_s)
    args = wire_args(board_id, body.command, body.args, confirm=body.confirm, note=body.note)
    if body.command in ONE_AT_A_TIME:
        _one_at_a_time(conn, board_id, body.command, now)
    command = CommandRecord(
        request_id=f"cmd-{uuid.uuid4().hex}",
        board_id=board_id,
        command=body.command,
        args=args,
        note=(body.note or "").strip() or None,
        state="queued",
        created_by=user.actor,
        created_at=now,
        expires_at=now + timedelta(seconds=seconds),
        attempts=1,
        awaiting_board=False,
        sent_at=None,
        delivered_at=None,
        finished_at=None,
        result_status=None,
        output=None,
        error=None,
    )
    try:
        size = len(fp.encode(command.request()))
    except (ValidationError, fp.ProtocolError) as exc:
        raise _invalid("args", str(exc).splitlines()[0]) from None
    if size > fp.MAX_PAYLOAD_BYTES:
        raise _invalid("args", f"the command is {size} bytes; at most {fp.MAX_PAYLOAD_BYTES}")
    store.insert_command(
        conn,
        request_id=command.request_id,
        board_id=board_id,
        command=command.command,
        args=args,
        note=command.note,
        created_by=user.actor,
        now=now,
        expires_at=command.expires_at,
    )
    audit.record(
        conn,
        actor,
        "command.send",
        target_type="board",
        target_id=board_id,
        after={
            "request_id": command.request_id,
            "command": command.command,
            "args": args,
            "expires_at": command.expires_at,
            "note": command.note,
        },
    )
    conn.commit()  # the command and its audit row exist before anything is published
    assert commands is not None
    try:
        commands.dispatch(conn, command)
    except Exception:  # stays queued: the retry publishes it
        log.exception("publishing command %s failed", command.request_id)
        conn.rollback()
    # As it stands now, after the publish (the service's clock is the API's).
    found = store.get_command(conn, command.request_id, commands.clock())
    assert found is not None
    return found


def config_status(conn: Conn, board_id: str) -> ConfigStatus:
    """Desired versions against what the board reported (the caller checked
    that the board is in scope)."""
    desired, (reported, applied) = store.desired_and_reports(conn, board_id)  # one round trip
    desired_version = desired[0].version if desired else None
    applied_version = applied.version if applied else None
    return ConfigStatus(
        board_id=board_id,
        desired_version=desired_version,
        desired=desired,
        reported=reported,
        applied_version=applied_version,
        in_sync=desired_version is not None and applied_version == desired_version,
    )


def board_config(conn: Conn, user: Principal, board_id: str) -> ConfigStatus:
    """A board's desired configuration versions and what it reported applying."""
    user.need("board.read")
    board_in_scope(conn, user.scope, board_id)
    return config_status(conn, board_id)


def set_desired_config(
    conn: Conn,
    user: Principal,
    actor: Actor,
    board_id: str,
    body: ConfigIn,
    *,
    commands: CommandService | None,
    now: datetime,
) -> ConfigStatus:
    """A new desired configuration version, audited, committed, then
    published (retained)."""
    user.need("command.send")
    board_for_commands(conn, user.scope, board_id)
    check_config(board_id, body.config, field="config")
    before = store.latest_desired(conn, board_id)
    added = store.add_desired(conn, board_id, dict(body.config), user.actor, now)
    try:
        size = len(fp.encode(added.message(board_id)))
    except (ValidationError, fp.ProtocolError) as exc:
        raise _invalid("config", str(exc).splitlines()[0]) from None
    if size > fp.MAX_PAYLOAD_BYTES:
        raise _invalid(
            "config", f"the configuration is {size} bytes; at most {fp.MAX_PAYLOAD_BYTES}"
        )
    audit.record(
        conn,
        actor,
        "board.config",
        target_type="board",
        target_id=board_id,
        before={"version": before.version, "config": before.config} if before else None,
        after={"version": added.version, "config": added.config},
    )
    conn.commit()
    assert commands is not None
    commands.publish_desired(conn, board_id)
    conn.commit()
    return config_status(conn, board_id)


def list_commands(
    conn: Conn,
    user: Principal,
    board_id: str,
    paging: ListParams,
    *,
    now: datetime,
    state: CommandState | None = None,
) -> Page[CommandRecord]:
    """A board's commands, newest first."""
    user.need("board.read")
    board_in_scope(conn, user.scope, board_id)
    return store.command_page(conn, board_id, paging, now, state)


def recent_commands(
    conn: Conn, user: Principal, board_id: str, *, now: datetime, limit: int
) -> list[CommandRecord]:
    """A board's newest commands (the console's board page); the caller
    checked that the board is in scope."""
    user.need("board.read")
    return store.recent_commands(conn, board_id, now, limit)


def get_command(conn: Conn, user: Principal, request_id: str, *, now: datetime) -> CommandRecord:
    """One command and the board's answer (404 outside the caller's scope)."""
    user.need("board.read")
    found = store.command_in_scope(conn, user.scope, request_id, now)
    if found is None:
        raise NotFound("command", request_id)
    return found
