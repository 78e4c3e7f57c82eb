"""/api/v1 logs and diagnostics: asking a board for its journal and a
diagnostics report (a ``collect_logs`` command), the bundles it uploaded,
one bundle's content (fleet_server/logbundles/service.py).

Reading needs ``diagnostics.read`` (never the Border Guard nor viewers) and
is audited; asking needs ``command.send``. Both are scoped like board reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Ctx, Db, client_address, require
from fleet_server.api.routers.queued import accepted
from fleet_server.api.routers.stored import stored_file
from fleet_server.commands.storage import CommandRecord
from fleet_server.logbundles import service
from fleet_server.logbundles.schemas import CollectLogsIn, LogBundleList

router = APIRouter(tags=["logs"])

Reader = Annotated[Principal, Depends(require(service.CAPABILITY))]
Sender = Annotated[Principal, Depends(require("command.send"))]
BoardId = Annotated[str, Path(max_length=64, pattern=DEVICE_ID_PATTERN)]


@router.get(
    "/boards/{board_id}/logs",
    summary="a board's log and diagnostics bundles (newest first)",
    responses={404: {"description": "no such board in the caller's scope"}},
)
def logs_of_board(
    conn: Db,
    user: Reader,
    board_id: BoardId,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="the previous page's next_before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 20,
) -> LogBundleList:
    return service.list_bundles(conn, user, board_id, before=before, limit=limit)


@router.get(
    "/logs/{bundle_id}",
    summary="one bundle's content: a journal as text, diagnostics as JSON (audited)",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}, "application/json": {}}},
        404: {"description": "no such bundle the caller may see"},
    },
)
def log_bundle(
    request: Request, conn: Db, user: Reader, bundle_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    actor = user.acting_from(client_address(request))
    found = service.read_bundle(conn, user, actor, bundle_id)
    extension = "txt" if found.kind == "journal" else "json"
    name = f"{found.board_id}-{found.kind}-{bundle_id}.{extension}"
    # a board's logs: never in a cache
    return stored_file(found.text, found.media_type, name, "no-store")


_ACCEPTED: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such board in the caller's scope"},
    409: {"description": "the board is disabled"},
    422: {"description": "minutes, lines or include out of bounds"},
}


@router.post(
    "/boards/{board_id}/collect-logs",
    status_code=202,
    summary="ask a board for its journal and diagnostics now (a collect_logs command)",
    responses=_ACCEPTED,
)
def collect_logs_send(
    request: Request,
    response: Response,
    conn: Db,
    ctx: Ctx,
    user: Sender,
    board_id: BoardId,
    body: CollectLogsIn,
) -> CommandRecord:
    return accepted(service.request_logs, request, response, conn, ctx, user, board_id, body)
