"""/api/v1 cameras: every camera the caller may see, with its last status
(fleet_server/cameras/service.py: the Border Guard's view, Điều 13.1.b)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from fleet_server.access.pagination import CursorPage
from fleet_server.access.principal import Principal
from fleet_server.api.deps import Db, Now, require
from fleet_server.api.pagination import KeysetPaging, link_next
from fleet_server.cameras import service
from fleet_server.cameras.models import Health
from fleet_server.cameras.schemas import CameraOut
from fleet_server.telemetry.schemas import Series

router = APIRouter(tags=["cameras"])

Reader = Annotated[Principal, Depends(require("camera.read"))]


@router.get(
    "/cameras",
    summary="cameras the caller may see, failing ones first",
    description="Failing cameras first, then unknown, then ok, each by site name. Page with"
    " each page's `next_cursor` (also in the `Link` header). `total` is exact; with `health`"
    " it counts up to 10,000 (`total_capped` beyond). A `cursor` pages the default order"
    " only: with `sort` (or the deprecated `offset`) the list is sorted whole.",
)
def cameras_list(
    request: Request,
    response: Response,
    conn: Db,
    now: Now,
    user: Reader,
    paging: KeysetPaging,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    health: Annotated[Health | None, Query()] = None,
) -> CursorPage[CameraOut]:
    page = service.list_cameras(
        conn, user, paging, now=now, site_id=site_id, board_id=board_id, health=health
    )
    link_next(request, response, page)
    return page


@router.get(
    "/cameras/{board_id}/{camera_id}/series",
    summary="reachability and RTSP latency of one camera over a period",
)
def camera_series(
    conn: Db,
    now: Now,
    user: Reader,
    board_id: Annotated[str, Path(max_length=64)],
    camera_id: Annotated[str, Path(max_length=32)],
    since: Annotated[datetime | None, Query(description="default: 24 h before until")] = None,
    until: Annotated[datetime | None, Query(description="default: now")] = None,
    bucket: Annotated[int | None, Query(ge=60, le=7 * 86400)] = None,
) -> Series:
    until = until or now
    since = since or until - timedelta(hours=24)
    return service.camera_series(
        conn, user, board_id, camera_id, since=since, until=until, bucket_s=bucket
    )
