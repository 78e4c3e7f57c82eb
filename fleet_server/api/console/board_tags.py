"""The board page's tags (migration 0043; docs/console.md): shown to every
reader of the page, changed by those who may edit boards (``org.write``,
as ``PATCH /api/v1/boards/{id}``: the same service, audited the same way).
Rollouts may target boards by tag (docs/updates.md)."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from fleet_server.access.principal import Principal
from fleet_server.api.console import forms
from fleet_server.api.console.boards import BoardId, board_view
from fleet_server.api.console.forms import Longest
from fleet_server.api.console.web import form_for, redirect
from fleet_server.api.deps import Ctx, Db, client_address
from fleet_server.boards.schemas import BoardPatch
from fleet_server.boards.service import update_board
from fleet_server.errors import RequestError

router = APIRouter(include_in_schema=False)

#: the capability that edits boards (PATCH /api/v1/boards/{id})
CAPABILITY = "org.write"
Editor = Annotated[Principal, Depends(form_for(CAPABILITY))]
_SPLIT = re.compile(r"[,;\s]+")


@router.post("/boards/{board_id}/tags")
def set_tags(
    request: Request,
    conn: Db,
    ctx: Ctx,
    user: Editor,
    board_id: BoardId,
    tags: Annotated[str, Form(), Longest(600)] = "",
) -> Response:
    """The whole set of tags, separated by commas or spaces (empty: none)."""
    try:
        forms.fit({"tags": tags})
        # written in capitals or not, a tag is the same word
        body = forms.checked(BoardPatch, tags=[t for t in _SPLIT.split(tags.lower()) if t])
        update_board(conn, user, user.acting_from(client_address(request)), board_id, body)
    except RequestError as exc:
        return forms.refused(
            conn,
            exc,
            {"tags": tags},
            lambda refusal: board_view(request, conn, ctx.clock(), user, board_id, refusal),
            "tags",
            {"tags": "board.tags"},
        )
    conn.commit()
    return redirect(f"/boards/{board_id}#tags", flash="tags_saved")
