"""/api/v1 snapshots: the pictures boards upload of their screen and cameras
(screen and camera proof, fleet_server/snapshots/service.py), and asking a
board for one now.

A screen picture needs ``board.read``, a camera picture ``camera.read`` (the
Border Guard sees the cameras of the sites its unit guards, never a screen);
both are scoped like board reads."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_protocol.topics import DEVICE_ID_PATTERN
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Ctx, Db, client_address, require
from fleet_server.api.routers.queued import accepted
from fleet_server.api.routers.stored import stored_file
from fleet_server.commands.storage import CommandRecord
from fleet_server.snapshots import references, service
from fleet_server.snapshots.references import ReferenceOut
from fleet_server.snapshots.schemas import ScreenshotIn, SnapshotList, Source

router = APIRouter(tags=["snapshots"])

#: Every role that may see a board may see cameras: camera.read lets one in,
#: the service then keeps screens to board.read.
Reader = Annotated[Principal, Depends(require("camera.read"))]
Sender = Annotated[Principal, Depends(require("command.send"))]
BoardId = Annotated[str, Path(max_length=64, pattern=DEVICE_ID_PATTERN)]
CameraId = Annotated[str, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]


@router.get(
    "/boards/{board_id}/snapshots",
    summary="a board's latest screen and camera pictures, and their history (newest first)",
    responses={404: {"description": "no such board in the caller's scope"}},
)
def snapshots_of_board(
    conn: Db,
    user: Reader,
    board_id: BoardId,
    source: Annotated[Source | None, Query()] = None,
    camera_id: CameraId | None = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**62, description="the previous page's next_before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PAGE)] = 20,
) -> SnapshotList:
    return service.list_snapshots(
        conn, user, board_id, source=source, camera_id=camera_id, before=before, limit=limit
    )


@router.get(
    "/snapshots/{snapshot_id}.jpg",
    summary="one picture (JPEG)",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}},
        404: {"description": "no such picture the caller may see"},
    },
)
def snapshot_image(
    conn: Db, user: Reader, snapshot_id: Annotated[int, Path(ge=1, le=2**62)]
) -> Response:
    picture = service.snapshot_picture(conn, user, snapshot_id)
    # a stored picture never changes; private: it is not for shared caches
    cache = "private, max-age=86400, immutable"
    return stored_file(picture.jpeg, "image/jpeg", f"snapshot-{snapshot_id}.jpg", cache)


_ACCEPTED: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such board in the caller's scope"},
    409: {"description": "the board is disabled"},
    422: {"description": "a camera id without source camera, or the reverse"},
}


@router.post(
    "/boards/{board_id}/screenshot",
    status_code=202,
    summary="ask a board for a picture of its screen or cameras now (a screenshot command)",
    responses=_ACCEPTED,
)
def screenshot_send(
    request: Request,
    response: Response,
    conn: Db,
    ctx: Ctx,
    user: Sender,
    board_id: BoardId,
    body: ScreenshotIn,
) -> CommandRecord:
    return accepted(service.request_screenshot, request, response, conn, ctx, user, board_id, body)


@router.post(
    "/snapshots/{snapshot_id}/reference",
    summary="take a picture as the reference: its camera's view, or a frame of the approved item"
    " on screen",
    responses={
        404: {"description": "no such picture the caller may see"},
        409: {"description": "the board is disabled"},
        400: {"description": "no approved item was on air when the screen picture was taken"},
    },
)
def snapshot_reference(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: Sender,
    snapshot_id: Annotated[int, Path(ge=1, le=2**62)],
) -> ReferenceOut:
    actor = user.acting_from(client_address(request))
    return references.use_as_reference(
        conn, user, actor, snapshot_id, commands=ctx.commands, now=ctx.clock()
    )
