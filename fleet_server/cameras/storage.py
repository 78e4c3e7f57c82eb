"""SQL of the cameras feature."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.scope import Scope
from fleet_server.access.storage import sites_condition
from fleet_server.cameras.schemas import CameraOut

Conn = psycopg.Connection[Any]

#: Cameras with their board and site, and the board's latest camera
#: reading (``cam``: this camera's entry in it). The reading is looked up in
#: a subquery of its own (OFFSET 0: planned apart) so that a query using none
#: of its columns, like the page's count, drops it and the latest-reading and
#: status joins altogether (unique keys): the count read every board's
#: camera JSON (issue 20).
_CAMERAS = """
    SELECT c.board_id, c.camera_id, c.name, b.name AS board_name,
           coalesce(st.state, 'unknown') AS board_state, b.site_id, s.name AS site_name,
           s.name_en AS site_name_en, s.kind AS site_kind, bl.measured_at, bl.observed_at,
           (SELECT e FROM jsonb_array_elements(bl.data->'cameras') e
             WHERE e->>'camera_id' = c.camera_id LIMIT 1) AS cam
    FROM cameras c
    JOIN boards b ON b.id = c.board_id
    JOIN sites s ON s.id = b.site_id
    LEFT JOIN board_status st ON st.board_id = b.id
    LEFT JOIN board_latest bl ON bl.device_id = c.board_id AND bl.kind = 'camera'
"""

_SELECT = """
    SELECT k.board_id, k.camera_id, k.name, k.board_name, k.board_state, k.site_id,
           k.site_name, k.site_name_en, k.site_kind, cam->>'status' AS status,
           (cam->>'reachable')::boolean AS reachable,
           (cam->>'rtsp_answered')::boolean AS rtsp_answered,
           (cam->>'latency_ms')::float8 AS latency_ms, cam->>'error' AS error,
           CASE WHEN cam IS NOT NULL THEN k.measured_at END AS measured_at,
           CASE WHEN cam IS NULL OR k.observed_at < %s THEN 'unknown'
                WHEN cam->>'status' IN ('ok', 'unauthorized') THEN 'ok'
                ELSE 'failing' END AS health,
           (SELECT i.id FROM incidents i WHERE i.board_id = k.board_id
              AND i.rule LIKE 'camera%%' AND i.state <> 'resolved'
              AND i.details->>'camera_id' = k.camera_id
            ORDER BY i.opened_at DESC LIMIT 1) AS open_incident_id
    FROM ({cameras} WHERE {where} OFFSET 0) k
"""


def camera_page(
    conn: Conn,
    scope: Scope,
    paging: ListParams,
    *,
    stale_before: datetime,
    site_id: int | None = None,
    board_id: str | None = None,
    health: str | None = None,
) -> Page[CameraOut]:
    """Cameras at the sites ``scope`` sees, failing ones first; a status
    observed before ``stale_before`` counts as unknown."""
    clause, params = sites_condition(scope, "b.site_id")
    where = [clause]
    add_equal(where, params, (("b.site_id", site_id), ("c.board_id", board_id)))
    select = _SELECT.format(cameras=_CAMERAS, where=" AND ".join(where))
    outer = [stale_before, *params]
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


def camera_exists(conn: Conn, board_id: str, camera_id: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM cameras WHERE board_id = %s AND camera_id = %s", (board_id, camera_id)
    ).fetchone()
    return row is not None
