"""The cameras list reads each camera's stored health (migration 0051,
``camera_health``, kept by triggers on board_latest): the same cameras, in
the same order, with the same health and status as the list read from each
board's latest camera JSON before (the reference query below)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest

from fleet_server.access.pagination import ListParams
from fleet_server.access.scope import Scope
from fleet_server.cameras import storage
from fleet_server.cameras.models import STALE_AFTER
from tests.server.api.conftest import open_test_incident
from tests.support.clock import Clock

#: The list as it was computed before camera_health: each camera's entry
#: found in its board's latest camera reading, on every request.
REFERENCE = """
    SELECT c.board_id, c.camera_id, cam->>'status' AS status,
           (cam->>'reachable')::boolean AS reachable,
           (cam->>'latency_ms')::float8 AS latency_ms, cam->>'error' AS error,
           CASE WHEN cam IS NOT NULL THEN bl.measured_at END AS measured_at,
           CASE WHEN cam IS NULL OR bl.observed_at < %s THEN 'unknown'
                WHEN cam->>'status' IN ('ok', 'unauthorized') THEN 'ok'
                ELSE 'failing' END AS health, s.name AS site_name
    FROM cameras c JOIN boards b ON b.id = c.board_id JOIN sites s ON s.id = b.site_id
    LEFT JOIN board_latest bl ON bl.device_id = c.board_id AND bl.kind = 'camera'
    LEFT JOIN LATERAL (SELECT e AS cam FROM jsonb_array_elements(bl.data->'cameras') e
                       WHERE e->>'camera_id' = c.camera_id LIMIT 1) x ON true
    WHERE {where}
"""
FIELDS = (
    "board_id",
    "camera_id",
    "status",
    "reachable",
    "latency_ms",
    "error",
    "measured_at",
    "health",
)


def reading(conn: Any, board: str, at: datetime, *entries: dict[str, Any]) -> None:
    """A board's latest camera reading, written as ingest upserts it."""
    conn.execute(
        "INSERT INTO board_latest (device_id, kind, boot, seq, measured_at, received_at,"
        " observed_at, data) VALUES (%s, 'camera', 1, 1, %s, %s, %s, %s)"
        " ON CONFLICT (device_id, kind) DO UPDATE SET data = EXCLUDED.data,"
        " measured_at = EXCLUDED.measured_at, observed_at = EXCLUDED.observed_at",
        (board, at - timedelta(seconds=5), at, at, json.dumps({"cameras": list(entries)})),
    )


def cam(camera_id: str, status: str | None, **more: Any) -> dict[str, Any]:
    entry = {"camera_id": camera_id, "reachable": status == "ok", **more}
    if status is not None:
        entry["status"] = status
    return entry


@pytest.fixture
def varied(db_conn: Any, clock: Clock) -> list[str]:
    """Every kind of camera reading on the seeded boards; the boards, in order."""
    boards = [str(r[0]) for r in db_conn.execute("SELECT id FROM boards ORDER BY id")]
    db_conn.execute(
        "INSERT INTO cameras (board_id, camera_id, name) SELECT id, 'cam3', 'third' FROM boards"
        " WHERE id = %s ON CONFLICT DO NOTHING",
        (boards[0],),
    )
    now, old = clock.now, clock.now - STALE_AFTER - timedelta(seconds=1)
    statuses = ("ok", "unreachable", "unauthorized", None, "timeout", "ok")
    for i, board in enumerate(boards):
        if i % 7 == 6:
            continue  # no camera reading at all
        at = old if i % 5 == 4 else now
        first = cam("cam1", statuses[i % len(statuses)], latency_ms=10.0 + i, error="e" * (i % 2))
        entries = [first, cam("cam2", "ok", latency_ms=5.0)]
        if i % 4 == 3:
            entries = [first]  # cam2 missing from the reading
        if i % 6 == 2:
            entries.append(cam("cam1", "unreachable"))  # a repeated id: the first counts
        reading(db_conn, board, at, *entries)
    incident = open_test_incident(db_conn, boards[1], "camera_unreachable")
    db_conn.execute(
        'UPDATE incidents SET details = \'{"camera_id": "cam1"}\' WHERE id = %s', (incident,)
    )
    return boards


def reference(
    conn: Any, stale: datetime, where: str, params: list[Any], health: str | None
) -> list[tuple[Any, ...]]:
    order = "CASE health WHEN 'failing' THEN 0 WHEN 'unknown' THEN 1 ELSE 2 END, site_name"
    rows = conn.execute(
        f"SELECT * FROM ({REFERENCE.format(where=where)}) r"
        f" WHERE %s::text IS NULL OR health = %s ORDER BY {order}, board_id, camera_id",
        [stale, *params, health, health],
    ).fetchall()
    return [tuple(r[:8]) for r in rows]


def listed(
    conn: Any, scope: Scope, stale: datetime, health: str | None, limit: int = 500
) -> tuple[list[tuple[Any, ...]], int]:
    items, offset = [], 0
    while True:
        page = storage.camera_page(
            conn,
            scope,
            ListParams(limit=limit, offset=offset, sort=None),
            stale_before=stale,
            health=health,
        )
        items += [tuple(getattr(c, f) for f in FIELDS) for c in page.items]
        if len(page.items) < limit:
            return items, page.total
        offset += limit


@pytest.mark.parametrize("health", [None, "failing", "unknown", "ok"])
def test_same_cameras_same_order_same_health(
    db_conn: Any, clock: Clock, varied: list[str], health: str | None
) -> None:
    stale = clock.now - STALE_AFTER
    sites = [int(r[0]) for r in db_conn.execute("SELECT id FROM sites ORDER BY id LIMIT 3")]
    scopes = [
        (Scope.everything(), "TRUE", []),
        (Scope(site_ids=tuple(sites)), "b.site_id = ANY(%s)", [sites]),
    ]
    for scope, where, params in scopes:
        expected = reference(db_conn, stale, where, params, health)
        for limit in (500, 3):  # one page, and many small ones
            items, total = listed(db_conn, scope, stale, health, limit)
            assert items == expected
            assert total == len(expected)
    everyone = reference(db_conn, stale, "TRUE", [], None)
    assert {h for *_, h in everyone} == {"ok", "failing", "unknown"}


def test_health_follows_each_new_reading(
    db_conn: Any, db_owner: Any, clock: Clock, varied: list[str]
) -> None:
    board = varied[0]
    stale = clock.now - STALE_AFTER

    def health() -> dict[str, str]:
        page = storage.camera_page(
            db_conn,
            Scope.everything(),
            ListParams(limit=500, offset=0, sort=None),
            stale_before=stale,
            board_id=board,
        )
        return {c.camera_id: c.health for c in page.items}

    reading(db_conn, board, clock.now, cam("cam1", "timeout"), cam("cam3", "ok"))
    assert health() == {"cam1": "failing", "cam2": "unknown", "cam3": "ok"}
    reading(db_conn, board, clock.now, cam("cam2", "ok"))  # cam1 and cam3 no longer reported
    assert health() == {"cam1": "unknown", "cam2": "ok", "cam3": "unknown"}
    reading(db_conn, board, clock.now, cam("cam2", "ok"))  # the same reading again
    assert health() == {"cam1": "unknown", "cam2": "ok", "cam3": "unknown"}
    db_conn.execute("DELETE FROM board_latest WHERE device_id = %s", (board,))
    assert health() == {"cam1": "unknown", "cam2": "unknown", "cam3": "unknown"}
    stored = db_conn.execute("SELECT count(*) FROM camera_health WHERE board_id = %s", (board,))
    assert stored.fetchone()[0] == 0
    # other kinds of reading leave the cameras alone
    reading(db_conn, board, clock.now, cam("cam1", "ok"))
    db_conn.execute(
        "INSERT INTO board_latest (device_id, kind, boot, seq, measured_at, received_at,"
        " observed_at, data) VALUES (%s, 'network', 1, 1, %s, %s, %s, '{\"cameras\": 3}')",
        (board, clock.now, clock.now, clock.now),
    )
    assert health()["cam1"] == "ok"
    db_owner.execute("TRUNCATE board_latest")
    assert db_conn.execute("SELECT count(*) FROM camera_health").fetchone()[0] == 0


def test_a_reading_without_a_list_of_cameras_is_no_reading(db_conn: Any, clock: Clock) -> None:
    board = str(db_conn.execute("SELECT id FROM boards ORDER BY id LIMIT 1").fetchone()[0])
    db_conn.execute(
        "INSERT INTO board_latest (device_id, kind, boot, seq, measured_at, received_at,"
        " observed_at, data) VALUES (%s, 'camera', 1, 1, %s, %s, %s, '{\"cameras\": {}}')",
        (board, clock.now, clock.now, clock.now),
    )
    assert db_conn.execute("SELECT count(*) FROM camera_health").fetchone()[0] == 0
