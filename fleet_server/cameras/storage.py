"""SQL of the cameras feature."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from pydantic import BaseModel

from fleet_server.access.pagination import ListParams, Page, add_equal, fetch_page
from fleet_server.access.scope import CAMERA_RULE_PATTERN, Scope
from fleet_server.access.storage import (
    board_site_condition,
    incidents_condition,
    sites_condition,
)
from fleet_server.cameras.schemas import CameraOut
from fleet_server.incidents.schemas import IncidentOut

Conn = psycopg.Connection[Any]

#: A camera's health from ``camera_health`` (migration 0051: each camera's
#: entry in its board's latest camera reading, written with board_latest by
#: triggers): no row is no reading, and a reading observed before the
#: parameter is stale; both unknown. The list read every board's camera JSON
#: to sort failing ones first (issue 20).
HEALTH = """CASE WHEN h.board_id IS NULL OR h.observed_at < %s THEN 'unknown'
                  WHEN h.failing THEN 'failing' ELSE 'ok' END"""

_FROM = """
    FROM cameras c
    JOIN boards b ON b.id = c.board_id
    JOIN sites s ON s.id = b.site_id
    LEFT JOIN camera_health h ON h.board_id = c.board_id AND h.camera_id = c.camera_id
"""

#: The list's order and filters only, narrow: the page is chosen from these
#: (a sort of every camera in scope), then only its rows are read in full.
_KEYS = (
    "SELECT c.board_id, c.camera_id, s.name AS site_name, {health} AS health,"
    " {latency} AS latency_ms, h.measured_at" + _FROM + "WHERE {where}"
)

#: What a list shows of a camera (a ``CameraOut``), over ``_FROM``'s tables
#: and the board's status ``st``; the one parameter is ``HEALTH``'s.
COLUMNS = f"""
    SELECT c.board_id, c.camera_id, c.name, b.name AS board_name,
           coalesce(st.state, 'unknown') AS board_state, b.site_id, s.name AS site_name,
           s.name_en AS site_name_en, s.kind AS site_kind, h.reading->>'status' AS status,
           (h.reading->>'reachable')::boolean AS reachable,
           (h.reading->>'rtsp_answered')::boolean AS rtsp_answered,
           (h.reading->>'latency_ms')::float8 AS latency_ms, h.reading->>'error' AS error,
           h.measured_at, {HEALTH} AS health,
           (SELECT i.id FROM incidents i WHERE i.board_id = c.board_id
              AND i.rule LIKE 'camera%%' AND i.state <> 'resolved'
              AND i.details->>'camera_id' = c.camera_id
            ORDER BY i.opened_at DESC LIMIT 1) AS open_incident_id"""

_ROWS = (
    COLUMNS
    + _FROM
    + """    LEFT JOIN board_status st ON st.board_id = b.id
    WHERE (c.board_id, c.camera_id) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""
)

#: ``health`` as conditions on camera_health's columns (the same as
#: ``HEALTH``), so a filtered list need not judge every camera.
HEALTH_IS = {
    "failing": "h.failing AND h.observed_at >= %s",
    "ok": "NOT h.failing AND h.observed_at >= %s",
    "unknown": "(h.board_id IS NULL OR h.observed_at < %s)",
}


class _Key(BaseModel):
    board_id: str
    camera_id: str


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
    if health is not None:
        where.append(HEALTH_IS[health])
        params.append(stale_before)
    by_latency = (paging.sort or "").lstrip("-") == "latency_ms"
    keys = _KEYS.format(
        health=HEALTH,
        latency="(h.reading->>'latency_ms')::float8" if by_latency else "NULL::float8",
        where=" AND ".join(where),
    )
    page = fetch_page(
        conn,
        keys,
        [stale_before, *params],
        paging,
        sortable=("board_id", "camera_id", "site_name", "health", "latency_ms", "measured_at"),
        default="CASE health WHEN 'failing' THEN 0 WHEN 'unknown' THEN 1 ELSE 2 END, site_name",
        tiebreak="board_id, camera_id",
        model=_Key,
    )
    order = [(k.board_id, k.camera_id) for k in page.items]
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _ROWS, (stale_before, [k[0] for k in order], [k[1] for k in order])
        ).fetchall()
    found = {(r["board_id"], r["camera_id"]): r for r in rows}
    return Page(
        items=[CameraOut.model_validate(found[k]) for k in order if k in found],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
        total_capped=page.total_capped,
    )


def camera_visible(conn: Conn, scope: Scope, board_id: str, camera_id: str) -> bool:
    """Whether the camera exists on a board at a site ``scope`` sees."""
    clause, params = board_site_condition(scope, "b.site_id")
    row = conn.execute(
        "SELECT 1 FROM cameras c JOIN boards b ON b.id = c.board_id"
        f" WHERE c.board_id = %s AND c.camera_id = %s AND {clause}",
        [board_id, camera_id, *params],
    ).fetchone()
    return row is not None


#: The open camera incidents the page lists above its cameras, worst and
#: newest first (the incidents list's default order), whatever other
#: incidents are open: the page read the 50 worst open incidents of every
#: kind and kept the camera ones, so a fleet with 50 worse open incidents
#: showed none, and paid for a page and a count of every open incident.
_OPEN_INCIDENTS = """
    SELECT i.id, i.rule, i.class AS incident_class, i.severity, i.state, i.board_id,
           b.name AS board_name, i.site_id, s.name AS site_name, s.name_en AS site_name_en,
           i.organisation_id, i.parent_id, i.title, i.title_key, i.title_params, i.details,
           i.flapping, i.opened_at, i.acknowledged_at, i.acknowledged_by, i.resolved_at,
           i.resolved_by, i.resolution_note, i.reopen_count, i.reported_by
      FROM incidents i
      LEFT JOIN boards b ON b.id = i.board_id
      LEFT JOIN sites s ON s.id = i.site_id
     WHERE i.state IN ('open', 'acknowledged') AND i.rule LIKE %s AND {where}
     ORDER BY CASE i.severity WHEN 'critical' THEN 3 WHEN 'major' THEN 2 WHEN 'minor' THEN 1
                   ELSE 0 END DESC, i.opened_at DESC, i.id DESC
     LIMIT %s
"""


def open_camera_incidents(conn: Conn, scope: Scope, limit: int) -> list[IncidentOut]:
    """Up to ``limit`` open or acknowledged camera incidents ``scope`` sees."""
    clause, params = incidents_condition(scope, "i.site_id", "i.rule")
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            _OPEN_INCIDENTS.format(where=clause), [CAMERA_RULE_PATTERN, *params, limit]
        ).fetchall()
    return [IncidentOut.model_validate(r) for r in rows]
