"""/api/v1 remote commands and desired configuration (docs/commands.md).

A command is stored, audited and committed first, then published on the API
process's MQTT connection; the answer is 202 with the command's state
(``sent`` once the broker acknowledged it, ``queued`` while the broker is
away: the background retry sends it as long as it has not expired). The
board's answer arrives through ingest and finishes the command.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from psycopg.rows import dict_row
from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

import fleet_protocol as fp
from fleet_server.access.pagination import ListParams, Page, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.auditing import record
from fleet_server.api.deps import ApiContext, Conn, Ctx, Db, require
from fleet_server.api.pagination import Paging
from fleet_server.api.problems import Problem
from fleet_server.boards.service import board_in_scope
from fleet_server.commands import storage as store
from fleet_server.commands.storage import (
    CommandRecord,
    CommandState,
    DesiredVersion,
    ReportedConfig,
)
from fleet_server.commands.validation import CommandName, CommandRefused, check_config, wire_args
from fleet_server.errors import Conflict, NotFound

log = logging.getLogger(__name__)
router = APIRouter(tags=["commands"])

Reader = Annotated[Principal, Depends(require("board.read"))]
Sender = Annotated[Principal, Depends(require("command.send"))]
BoardId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]
RequestId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class CommandIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command: CommandName
    args: Annotated[dict[str, JsonValue], Field(max_length=64)] = Field(
        default_factory=dict,
        description="collect_now: optional `kinds`; set_config: `config`; the others none",
    )
    confirm: bool = Field(
        default=False, description="must be true for reboot: the screen goes dark for a while"
    )
    expires_in_s: int | None = Field(
        default=None,
        ge=1,
        le=7 * 86_400,
        description="seconds the board may still execute it (default FLEET_COMMAND_EXPIRES_S;"
        " bounds FLEET_COMMAND_EXPIRES_MIN_S … FLEET_COMMAND_EXPIRES_MAX_S)",
    )
    note: str | None = Field(
        default=None, max_length=500, description="why; kept on the server, not sent"
    )


class ConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config: Annotated[dict[str, JsonValue], Field(max_length=128)] = Field(
        description="remote-editable agent settings: intervals, network, spool, log_level, display"
    )


class ConfigStatus(BaseModel):
    board_id: str
    #: the newest desired version (what the board should run)
    desired_version: int | None
    desired: list[DesiredVersion]
    #: the board's newest report, applied or not
    reported: ReportedConfig | None
    #: the newest version the board reported as applied
    applied_version: int | None
    in_sync: bool


def _invalid(field: str, message: str) -> Problem:
    return Problem(
        422,
        f"{field}: {message}",
        kind="validation",
        title="Invalid request",
        errors=[{"field": field, "message": message}],
    )


def _refused(exc: CommandRefused) -> Problem:
    if exc.status == 422 and exc.field:
        return _invalid(exc.field, exc.detail.removeprefix(f"{exc.field}: "))
    return Problem(exc.status, exc.detail, kind=exc.kind)


def board_for_commands(conn: Conn, user: Principal, board_id: str) -> None:
    """404 outside the caller's scope; 409 for a disabled board (its broker
    account is off: nothing can reach it)."""
    scope, params = sites_condition(user.scope, "b.site_id")
    row = conn.execute(
        f"SELECT b.enabled FROM boards b WHERE b.id = %s AND {scope}", [board_id, *params]
    ).fetchone()
    if row is None:
        raise NotFound("board", board_id)
    if not row[0]:
        raise Conflict(f"board {board_id} is disabled; enable it before sending commands")


def _expiry(ctx: ApiContext, asked: int | None) -> int:
    settings = ctx.settings
    seconds = settings.command_expires_s if asked is None else asked
    low, high = settings.command_expires_min_s, settings.command_expires_max_s
    if not low <= seconds <= high:
        raise _invalid("expires_in_s", f"must be between {low} and {high} seconds")
    return seconds


def send_command(
    conn: Conn, ctx: ApiContext, user: Principal, request: Request, board_id: str, body: CommandIn
) -> CommandRecord:
    """Check, store, audit and commit a command, then publish it."""
    board_for_commands(conn, user, board_id)
    seconds = _expiry(ctx, body.expires_in_s)
    try:
        args = wire_args(board_id, body.command, body.args, confirm=body.confirm)
    except CommandRefused as exc:
        raise _refused(exc) from None
    now = ctx.clock()
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
    record(
        conn,
        user,
        request,
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
    assert ctx.commands is not None
    try:
        ctx.commands.dispatch(conn, command)
    except Exception:  # stays queued: the retry publishes it
        log.exception("publishing command %s failed", command.request_id)
        conn.rollback()
    found = store.get_command(conn, command.request_id, ctx.clock())
    assert found is not None
    return found


def config_status(conn: Conn, board_id: str) -> ConfigStatus:
    desired = store.desired_versions(conn, board_id)
    reported = store.last_report(conn, board_id)
    applied = (
        reported
        if reported and reported.applied
        else store.last_report(conn, board_id, applied=True)
    )
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


def set_desired_config(
    conn: Conn, ctx: ApiContext, user: Principal, request: Request, board_id: str, body: ConfigIn
) -> ConfigStatus:
    board_for_commands(conn, user, board_id)
    try:
        check_config(board_id, body.config, field="config")
    except CommandRefused as exc:
        raise _refused(exc) from None
    before = store.latest_desired(conn, board_id)
    now = ctx.clock()
    added = store.add_desired(conn, board_id, dict(body.config), user.actor, now)
    try:
        size = len(fp.encode(added.message(board_id)))
    except (ValidationError, fp.ProtocolError) as exc:
        raise _invalid("config", str(exc).splitlines()[0]) from None
    if size > fp.MAX_PAYLOAD_BYTES:
        raise _invalid(
            "config", f"the configuration is {size} bytes; at most {fp.MAX_PAYLOAD_BYTES}"
        )
    record(
        conn,
        user,
        request,
        "board.config",
        target_type="board",
        target_id=board_id,
        before={"version": before.version, "config": before.config} if before else None,
        after={"version": added.version, "config": added.config},
    )
    conn.commit()
    assert ctx.commands is not None
    ctx.commands.publish_desired(conn, board_id)
    conn.commit()
    return config_status(conn, board_id)


def list_commands(
    conn: Conn,
    ctx: ApiContext,
    user: Principal,
    board_id: str,
    paging: ListParams,
    state: CommandState | None = None,
) -> Page[CommandRecord]:
    board_in_scope(conn, user.scope, board_id)
    select = f"{store.command_select()} WHERE c.board_id = %s"
    params: list[Any] = [ctx.clock(), board_id]
    if state is not None:
        select = f"SELECT * FROM ({select}) s WHERE s.state = %s"
        params.append(state)
    return fetch_page(
        conn,
        select,
        params,
        paging,
        sortable=("created_at", "expires_at", "state", "command", "finished_at"),
        default="created_at DESC",
        tiebreak="id DESC",
        model=CommandRecord,
    )


_ACCEPTED: dict[int | str, dict[str, Any]] = {
    400: {"description": "reboot without confirm"},
    404: {"description": "no such board in the caller's scope"},
    409: {"description": "the board is disabled"},
}


@router.post(
    "/boards/{board_id}/commands",
    status_code=202,
    summary="send a command to a board (ping, collect_now, restart_player, reboot, set_config)",
    responses=_ACCEPTED,
)
def commands_send(
    request: Request,
    response: Response,
    conn: Db,
    ctx: Ctx,
    user: Sender,
    board_id: BoardId,
    body: CommandIn,
) -> CommandRecord:
    command = send_command(conn, ctx, user, request, board_id, body)
    response.headers["Location"] = f"/api/v1/commands/{command.request_id}"
    return command


@router.get("/boards/{board_id}/commands", summary="a board's commands, newest first")
def commands_of_board(
    conn: Db,
    ctx: Ctx,
    user: Reader,
    board_id: BoardId,
    paging: Paging,
    state: Annotated[CommandState | None, Query()] = None,
) -> Page[CommandRecord]:
    return list_commands(conn, ctx, user, board_id, paging, state)


@router.get("/commands/{request_id}", summary="one command and the board's answer")
def commands_get(conn: Db, ctx: Ctx, user: Reader, request_id: RequestId) -> CommandRecord:
    scope, params = sites_condition(user.scope, "b.site_id")
    with conn.cursor(row_factory=dict_row) as cur:
        row = cur.execute(
            f"{store.command_select()} JOIN boards b ON b.id = c.board_id"
            f" WHERE c.request_id = %s AND {scope}",
            [ctx.clock(), request_id, *params],
        ).fetchone()
    if row is None:
        raise NotFound("command", request_id)
    return CommandRecord.model_validate(row)


@router.put(
    "/boards/{board_id}/config",
    status_code=202,
    summary="a new desired configuration version for a board (published retained)",
    responses=_ACCEPTED,
)
def config_put(
    request: Request, conn: Db, ctx: Ctx, user: Sender, board_id: BoardId, body: ConfigIn
) -> ConfigStatus:
    return set_desired_config(conn, ctx, user, request, board_id, body)


@router.get(
    "/boards/{board_id}/config",
    summary="desired configuration versions and what the board reported applying",
)
def config_get(conn: Db, ctx: Ctx, user: Reader, board_id: BoardId) -> ConfigStatus:
    board_in_scope(conn, user.scope, board_id)
    return config_status(conn, board_id)
