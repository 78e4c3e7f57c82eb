"""/api/v1 broadcast windows (Điều 8.1): a site's morning, afternoon and
evening windows in local time, and a board's own windows overriding its
site's. Anyone who sees the site or board reads them; administrators and the
operators of the site set them (``broadcast_window.write``). Every change is
audited with the windows before and after (docs/content.md).

The operations, rules and SQL live in ``fleet_server/broadcast/``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, client_address, require
from fleet_server.broadcast import service
from fleet_server.broadcast.schemas import BoardWindowsOut, SiteWindowsOut, WindowsIn

router = APIRouter(tags=["broadcast windows"])

Reader = Annotated[Principal, Depends(require("board.read"))]
Writer = Annotated[Principal, Depends(require("broadcast_window.write"))]
SiteId = Annotated[int, Path(ge=1, le=2**62)]
BoardId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/sites/{site_id}/broadcast-windows", summary="a site's broadcast windows")
def site_get(conn: Db, user: Reader, site_id: SiteId) -> SiteWindowsOut:
    return service.site_windows(conn, user, site_id)


@router.put(
    "/sites/{site_id}/broadcast-windows",
    summary="replace a site's broadcast windows (local time)",
    responses={422: {"description": "an end not after its start, overlapping windows"}},
)
def site_put(
    request: Request, conn: Db, user: Writer, site_id: SiteId, body: WindowsIn
) -> SiteWindowsOut:
    actor = user.acting_from(client_address(request))
    return service.set_site_windows(conn, user, actor, site_id, body)


@router.get(
    "/boards/{board_id}/broadcast-windows",
    summary="a board's windows in force: its own, else its site's",
)
def board_get(conn: Db, user: Reader, board_id: BoardId) -> BoardWindowsOut:
    return service.board_windows(conn, user, board_id)


@router.put(
    "/boards/{board_id}/broadcast-windows",
    summary="give a board its own broadcast windows, replacing its site's for it",
    responses={422: {"description": "an end not after its start, overlapping windows"}},
)
def board_put(
    request: Request, conn: Db, user: Writer, board_id: BoardId, body: WindowsIn
) -> BoardWindowsOut:
    actor = user.acting_from(client_address(request))
    return service.set_board_windows(conn, user, actor, board_id, body)


@router.delete(
    "/boards/{board_id}/broadcast-windows",
    summary="drop a board's own windows: it follows its site's again",
)
def board_delete(request: Request, conn: Db, user: Writer, board_id: BoardId) -> BoardWindowsOut:
    actor = user.acting_from(client_address(request))
    return service.set_board_windows(conn, user, actor, board_id, None)
