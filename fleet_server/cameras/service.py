"""Every camera the caller may see, with its last status, and one camera's
reachability and RTSP latency over a period.

This is the Border Guard's view (Điều 13.1.b): a border_guard account sees the
cameras of the sites its unit guards and nothing else. A camera whose latest
status was measured more than ``STALE_AFTER`` ago shows status ``unknown``;
that age is reckoned on the server's clock (``board_latest.observed_at``),
never the board's.
"""

from __future__ import annotations

from datetime import datetime

from fleet_server.access.pagination import ListParams, Page
from fleet_server.access.principal import Principal
from fleet_server.boards.service import board_in_scope
from fleet_server.cameras import storage
from fleet_server.cameras.models import STALE_AFTER
from fleet_server.cameras.schemas import CameraOut
from fleet_server.cameras.storage import Conn
from fleet_server.errors import NotFound
from fleet_server.telemetry.schemas import Series
from fleet_server.telemetry.service import series_in_scope


def list_cameras(
    conn: Conn,
    user: Principal,
    paging: ListParams,
    *,
    now: datetime,
    site_id: int | None = None,
    board_id: str | None = None,
    health: str | None = None,
) -> Page[CameraOut]:
    user.need("camera.read")
    return storage.camera_page(
        conn,
        user.scope,
        paging,
        stale_before=now - STALE_AFTER,
        site_id=site_id,
        board_id=board_id,
        health=health,
    )


def camera_series(
    conn: Conn,
    user: Principal,
    board_id: str,
    camera_id: str,
    *,
    since: datetime,
    until: datetime,
    bucket_s: int | None = None,
) -> Series:
    """The board's camera series in [since, until), this camera's points only."""
    user.need("camera.read")
    board_in_scope(conn, user.scope, board_id, what="camera", ident=f"{board_id}/{camera_id}")
    if not storage.camera_exists(conn, board_id, camera_id):
        raise NotFound("camera", f"{board_id}/{camera_id}")
    whole = series_in_scope(
        conn, user.scope, board_id, "camera", since=since, until=until, bucket_s=bucket_s
    )
    whole.points = [p for p in whole.points if p.camera_id == camera_id]
    return whole
