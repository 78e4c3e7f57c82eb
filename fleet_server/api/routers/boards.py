"""/api/v1 boards: the list with connectivity state (by tag too), one board with
its latest readings, open incidents, cameras and connectivity history, and its
inventory data and tags (PATCH)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from fleet_server.access.pagination import CursorPage
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, client_address, require
from fleet_server.api.pagination import KeysetPaging, link_next
from fleet_server.boards import service
from fleet_server.boards.schemas import (
    TAG_PATTERN,
    BoardDetail,
    BoardOut,
    BoardPatch,
    State,
    StatusChange,
)

router = APIRouter(tags=["boards"])

Reader = Annotated[Principal, Depends(require("board.read"))]
Writer = Annotated[Principal, Depends(require("org.write"))]


@router.get("/boards", summary="boards the caller can see, with connectivity state")
def boards_list(
    request: Request,
    response: Response,
    conn: Db,
    user: Reader,
    paging: KeysetPaging,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    organisation_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    state: Annotated[State | None, Query()] = None,
    q: Annotated[str | None, Query(max_length=100, description="id or name contains")] = None,
    enabled: Annotated[bool | None, Query()] = None,
    tag: Annotated[
        str | None, Query(pattern=TAG_PATTERN, description="boards with this tag")
    ] = None,
) -> CursorPage[BoardOut]:
    """Sort by id (the default), name, site_name, state, state_since,
    last_seen_at, open_incidents or installed_on. Page with ``cursor`` (each
    page's ``next_cursor``, also in the ``Link`` header); ``total`` counts at
    most 10,000 (``total_capped``)."""
    page = service.list_boards(
        conn,
        user,
        paging,
        site_id=site_id,
        organisation_id=organisation_id,
        state=state,
        q=q,
        enabled=enabled,
        tag=tag,
    )
    link_next(request, response, page)
    return page


@router.get("/boards/{board_id}", summary="one board: latest state, readings, open incidents")
def boards_get(conn: Db, user: Reader, board_id: str) -> BoardDetail:
    return service.get_board(conn, user, board_id)


@router.get("/boards/{board_id}/connectivity", summary="connectivity history of a board")
def boards_connectivity(
    conn: Db,
    user: Reader,
    board_id: str,
    since: datetime,
    until: datetime,
) -> list[StatusChange]:
    return service.connectivity(conn, user, board_id, since=since, until=until)


@router.patch("/boards/{board_id}", summary="change a board's inventory data (admin)")
def boards_patch(
    request: Request, conn: Db, user: Writer, board_id: str, body: BoardPatch
) -> BoardDetail:
    actor = user.acting_from(client_address(request))
    return service.update_board(conn, user, actor, board_id, body)
