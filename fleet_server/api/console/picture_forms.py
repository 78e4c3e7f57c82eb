"""The board page's picture forms (issue 18): "take a picture now" (a
``screenshot`` command of the screen or one camera) and "use as reference"
(a camera's reference view, or a reference frame of the approved item on
air), each refused on the board's page like its other forms."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.boards import BoardId, board_view
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import form_for, redirect
from fleet_server.api.deps import Ctx, Db, client_address
from fleet_server.errors import Invalid, NotFound, RequestError
from fleet_server.snapshots import references, service
from fleet_server.snapshots.schemas import ScreenshotIn

router = APIRouter(include_in_schema=False)

CommandSender = Annotated[Principal, Depends(form_for("command.send"))]
SnapshotId = Annotated[int, Path(ge=1, le=2**62)]
#: The form fields -> the label they are shown under after a refusal.
LABELS = {
    "source": "pictures.title",
    "camera_id": "cameras.camera",
    "snapshot": "pictures.picture",
    "confirm": "pictures.reference_confirm",
}


@router.post("/boards/{board_id}/pictures")
def take_picture(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: CommandSender,
    board_id: BoardId,
    source: Annotated[str, Form(), Longest(20)] = "screen",
    camera_id: Annotated[str, Form(), Longest(40)] = "",
) -> Response:
    """ "Take a picture now": a ``screenshot`` command of the screen or one
    camera, like ``POST /api/v1/boards/{id}/screenshot``."""
    typed = {"source": source, "camera_id": camera_id}
    try:
        body = forms.checked(ScreenshotIn, source=source, camera_id=camera_id or None)
        service.request_screenshot(
            conn,
            user,
            user.acting_from(client_address(request)),
            board_id,
            body,
            commands=ctx.commands,
            settings=ctx.settings,
            now=ctx.clock(),
        )
    except RequestError as exc:
        if getattr(exc, "field", None) == "args":  # the command's arguments: the camera typed
            said = re.sub(r"^([\w.]+: )+", "", exc.detail)  # "args: screenshot: camera_id: …"
            exc = Invalid(f"camera_id: {said}", field="camera_id")
        return forms.refused(
            conn,
            exc,
            typed,
            lambda refusal: board_view(request, conn, ctx.clock(), user, board_id, refusal),
            "pictures",
            LABELS,
        )
    return redirect(f"/boards/{board_id}#pictures", flash="picture_requested")


@router.post("/boards/{board_id}/pictures/{snapshot_id}/reference")
def use_as_reference(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: CommandSender,
    board_id: BoardId,
    snapshot_id: SnapshotId,
    confirm: forms.ConfirmField = "",
) -> Response:
    """ "Use as reference": a camera picture becomes that camera's reference
    view, a screen picture a reference frame of the approved item on air
    (``POST /api/v1/snapshots/{id}/reference``)."""
    picture = service.snapshot_picture(conn, user, snapshot_id)  # 404 if not visible
    if picture.board_id != board_id:
        raise NotFound("snapshot", snapshot_id)
    try:
        forms.fit({"confirm": confirm})
        forms.confirmed(confirm, "tick the box to use this picture as the reference")
        told = references.use_as_reference(
            conn,
            user,
            user.acting_from(client_address(request)),
            snapshot_id,
            commands=ctx.commands,
            now=ctx.clock(),
        )
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            {"snapshot": str(snapshot_id)},
            lambda refusal: board_view(request, conn, ctx.clock(), user, board_id, refusal),
            f"reference-{snapshot_id}",
            LABELS,
        )
    conn.commit()
    flash = "reference_camera" if told.source == "camera" else "reference_screen"
    return redirect(f"/boards/{board_id}#pictures", flash=flash, count=len(told.boards))
