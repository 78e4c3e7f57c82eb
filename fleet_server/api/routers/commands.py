"""/api/v1 remote commands and desired configuration (docs/commands.md;
the operations are fleet_server/commands/service.py).

A command is stored, audited and committed first, then published on the API
process's MQTT connection; the answer is 202 with the command's state
(``sent`` once the broker acknowledged it, ``queued`` while the broker is
away: the background retry sends it as long as it has not expired). The
board's answer arrives through ingest and finishes the command.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.pagination import Page
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Ctx, Db, Now, client_address, require
from fleet_server.api.pagination import Paging
from fleet_server.api.routers.queued import accepted
from fleet_server.commands import service
from fleet_server.commands.schemas import CommandIn, ConfigIn, ConfigStatus
from fleet_server.commands.storage import CommandRecord, CommandState

router = APIRouter(tags=["commands"])

Reader = Annotated[Principal, Depends(require("board.read"))]
Sender = Annotated[Principal, Depends(require("command.send"))]
BoardId = Annotated[str, Path(max_length=64, pattern=DEVICE_ID_PATTERN)]
RequestId = Annotated[str, Path(max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


_ACCEPTED: dict[int | str, dict[str, Any]] = {
    400: {"description": "reboot, blank_screen or stop_content without confirm"},
    404: {"description": "no such board in the caller's scope"},
    409: {"description": "the board is disabled"},
}


@router.post(
    "/boards/{board_id}/commands",
    status_code=202,
    summary="send a command to a board (ping, collect_now, restart_player, reboot, set_config;"
    " the kill switch blank_screen, stop_content, resume with board.halt)",
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
    return accepted(service.send_command, request, response, conn, ctx, user, board_id, body)


@router.get("/boards/{board_id}/commands", summary="a board's commands, newest first")
def commands_of_board(
    conn: Db,
    now: Now,
    user: Reader,
    board_id: BoardId,
    paging: Paging,
    state: Annotated[CommandState | None, Query()] = None,
) -> Page[CommandRecord]:
    return service.list_commands(conn, user, board_id, paging, now=now, state=state)


@router.get("/commands/{request_id}", summary="one command and the board's answer")
def commands_get(conn: Db, now: Now, user: Reader, request_id: RequestId) -> CommandRecord:
    return service.get_command(conn, user, request_id, now=now)


@router.put(
    "/boards/{board_id}/config",
    status_code=202,
    summary="a new desired configuration version for a board (published retained)",
    responses=_ACCEPTED,
)
def config_put(
    request: Request, conn: Db, ctx: Ctx, user: Sender, board_id: BoardId, body: ConfigIn
) -> ConfigStatus:
    actor = user.acting_from(client_address(request))
    return service.set_desired_config(
        conn, user, actor, board_id, body, commands=ctx.commands, now=ctx.clock()
    )


@router.get(
    "/boards/{board_id}/config",
    summary="desired configuration versions and what the board reported applying",
)
def config_get(conn: Db, user: Reader, board_id: BoardId) -> ConfigStatus:
    return service.board_config(conn, user, board_id)
