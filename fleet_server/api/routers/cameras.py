"""/api/v1 cameras: every camera the caller may see, with its last status.

This is the Border Guard's view (Điều 13.1.b): a border_guard account sees the
cameras of the sites its unit guards and nothing else. A camera whose latest
status was measured more than ``STALE_AFTER`` ago shows status ``unknown``;
that age is reckoned on the server's clock (``board_latest.observed_at``),
never the board's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.principal import Principal
from fleet_server.access.storage import sites_condition
from fleet_server.api.deps import Conn, Db, Now, require
from fleet_server.api.pagination import Paging
from fleet_server.api.routers.telemetry import Series, series
from fleet_server.boards.service import board_in_scope
from fleet_server.errors import NotFound

router = APIRouter(tags=["cameras"])

Reader = Annotated[Principal, Depends(require("camera.read"))]
Health = Literal["ok", "failing", "unknown"]
STALE_AFTER = timedelta(minutes=10)


class CameraOut(BaseModel):
    board_id: str
    camera_id: str
    name: str
    board_name: str
    board_state: str
    site_id: int
    site_name: str
    site_name_en: str | None
    site_kind: str
    #: ok / failing / unknown (no fresh report)
    health: str
    status: str | None
    reachable: bool | None
    rtsp_answered: bool | None
    latency_ms: float | None
    error: str | None
    measured_at: datetime | None
    open_incident_id: int | None


_SELECT = """
    SELECT c.board_id, c.camera_id, c.name, b.name AS board_name,
           coalesce(st.state, 'unknown') AS board_state, b.site_id, s.name AS site_name,
           s.name_en AS site_name_en, s.kind AS site_kind, cam->>'status' AS status,
           (cam->>'reachable')::boolean AS reachable,
           (cam->>'rtsp_answered')::boolean AS rtsp_answered,
           (cam->>'latency_ms')::float8 AS latency_ms, cam->>'error' AS error,
           CASE WHEN cam IS NOT NULL THEN bl.measured_at END AS measured_at,
           CASE WHEN cam IS NULL OR bl.observed_at < %s THEN 'unknown'
                WHEN cam->>'status' IN ('ok', 'unauthorized') THEN 'ok'
                ELSE 'failing' END AS health,
           (SELECT i.id FROM incidents i WHERE i.board_id = c.board_id
              AND i.rule LIKE 'camera%%' AND i.state <> 'resolved'
              AND i.details->>'camera_id' = c.camera_id
            ORDER BY i.opened_at DESC LIMIT 1) AS open_incident_id
    FROM cameras c
    JOIN boards b ON b.id = c.board_id
    JOIN sites s ON s.id = b.site_id
    LEFT JOIN board_status st ON st.board_id = b.id
    LEFT JOIN board_latest bl ON bl.device_id = c.board_id AND bl.kind = 'camera'
    LEFT JOIN LATERAL (
        SELECT e AS cam FROM jsonb_array_elements(bl.data->'cameras') e
        WHERE e->>'camera_id' = c.camera_id LIMIT 1
    ) found ON true
"""


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
    scope, params = sites_condition(user.scope, "b.site_id")
    where = [scope]
    add_equal(where, params, (("b.site_id", site_id), ("c.board_id", board_id)))
    select = f"{_SELECT} WHERE {' AND '.join(where)}"
    outer = [now - STALE_AFTER, *params]
    if health is not None:
        select = f"SELECT * FROM ({select}) h WHERE health = %s"
        outer.append(health)
    return fetch_page(
        conn,
        select,
        outer,
        paging,
        sortable=("board_id", "camera_id", "site_name", "health", "latency_ms", "measured_at"),
        default="CASE health WHEN 'failing' THEN 0 WHEN 'unknown' THEN 1 ELSE 2 END, site_name",
        tiebreak="board_id, camera_id",
        model=CameraOut,
    )


@router.get("/cameras", summary="cameras the caller may see, failing ones first")
def cameras_list(
    conn: Db,
    now: Now,
    user: Reader,
    paging: Paging,
    site_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    board_id: Annotated[str | None, Query(max_length=64)] = None,
    health: Annotated[Health | None, Query()] = None,
) -> Page[CameraOut]:
    return list_cameras(
        conn, user, paging, now=now, site_id=site_id, board_id=board_id, health=health
    )


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
    board_in_scope(conn, user.scope, board_id, what="camera", ident=f"{board_id}/{camera_id}")
    if not conn.execute(
        "SELECT 1 FROM cameras WHERE board_id = %s AND camera_id = %s", (board_id, camera_id)
    ).fetchone():
        raise NotFound("camera", f"{board_id}/{camera_id}")
    until = until or now
    since = since or until - timedelta(hours=24)
    whole = series(conn, user, board_id, "camera", since=since, until=until, bucket_s=bucket)
    whole.points = [p for p in whole.points if p.camera_id == camera_id]
    return whole
