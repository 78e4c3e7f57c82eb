"""Telemetry series (raw and hourly) and the cameras page's data."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import fleet_protocol as fp
from fleet_protocol.messages import CameraState
from tests.server.api.conftest import open_test_incident
from tests.server.engine.conftest import Store
from tests.support.clock import Clock

BOARD = "lc-ma-lu-thang-01"


def cameras(store: Store, board: str, cam1: CameraState, cam2: CameraState | None = None) -> None:
    """One camera message: cam1 (and cam2) in the given states."""
    statuses = [
        fp.CameraStatus(
            camera_id=camera_id,
            reachable=status == "ok",
            rtsp_answered=status == "ok",
            status=status,
            latency_ms=40.0 if status == "ok" else None,
        )
        for camera_id, status in (("cam1", cam1), ("cam2", cam2))
        if status is not None
    ]
    store.reading(board, fp.TelemetryKind.CAMERA, fp.CameraData(cameras=statuses))


def test_raw_series_buckets_the_last_day(as_: Any, store: Store, clock: Clock) -> None:
    start = (clock.now - timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
    for minute in range(0, 180, 5):  # every 5 min for 3 h, mains lost in the 2nd hour
        clock.set(start + timedelta(minutes=minute))
        store.power(BOARD, mains=not 60 <= minute < 120)
    until = start + timedelta(hours=3)
    response = as_("operator").get(
        f"/api/v1/boards/{BOARD}/telemetry/power",
        params={"since": start.isoformat(), "until": until.isoformat(), "bucket": 3600},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "raw"
    assert body["bucket_s"] == 3600
    shares = [p["values"]["on_battery_share"] for p in body["points"]]
    samples = [p["samples"] for p in body["points"]]
    assert sum(samples) == 36
    # buckets are aligned to the hour; the middle hour of the three was on battery
    assert shares == [0.0, 1.0, 0.0]


def test_long_ranges_read_the_hourly_rollups(
    as_: Any, store: Store, clock: Clock, db_conn: Any, db_owner: Any
) -> None:
    now = clock.now
    clock.set(now - timedelta(days=10))
    store.heartbeat(BOARD)
    clock.set(now - timedelta(days=9))
    store.heartbeat(BOARD)
    plain = db_conn.execute(
        "SELECT 1 FROM pg_proc WHERE proname = 'fleet_refresh_rollups'"
    ).fetchone()
    if plain:  # the engine keeps the rollups, as the application
        db_conn.execute("SELECT fleet_refresh_rollups(%s, %s)", (now - timedelta(days=11), now))
    else:  # TimescaleDB: a continuous aggregate is refreshed by (the jobs of) its owner
        db_owner.execute(
            "CALL refresh_continuous_aggregate('heartbeat_hourly', %s, %s)",
            (now - timedelta(days=11), now),
        )
    response = as_("viewer").get(
        f"/api/v1/boards/{BOARD}/telemetry/heartbeat",
        params={"since": (now - timedelta(days=30)).isoformat(), "until": now.isoformat()},
    )
    body = response.json()
    assert body["source"] == "hourly"
    assert body["bucket_s"] % 3600 == 0
    assert sum(p["samples"] for p in body["points"]) == 2
    odd = as_("viewer").get(
        f"/api/v1/boards/{BOARD}/telemetry/heartbeat",
        params={
            "since": (now - timedelta(days=30)).isoformat(),
            "until": now.isoformat(),
            "bucket": 600,
        },
    )
    assert odd.status_code == 400
    assert "multiple of 3600" in odd.json()["detail"]


def test_series_rejections(as_: Any, clock: Clock) -> None:
    viewer = as_("viewer")
    url = f"/api/v1/boards/{BOARD}/telemetry/network"
    backwards = viewer.get(
        url,
        params={
            "since": clock.now.isoformat(),
            "until": (clock.now - timedelta(hours=1)).isoformat(),
        },
    )
    assert backwards.status_code == 400
    assert backwards.json()["detail"] == "until must be after since"
    too_fine = viewer.get(
        url,
        params={
            "since": (clock.now - timedelta(days=6)).isoformat(),
            "until": clock.now.isoformat(),
            "bucket": 60,
        },
    )
    assert too_fine.status_code == 400
    assert "points" in too_fine.json()["detail"]
    assert viewer.get(f"/api/v1/boards/{BOARD}/telemetry/weather").status_code == 422
    assert as_("district").get(url).status_code == 404
    assert as_("guard").get(url).status_code == 403
    assert viewer.get(url).json()["points"] == []


def test_border_guard_sees_border_cameras(
    as_: Any, store: Store, db_conn: Any, clock: Clock
) -> None:
    cameras(store, BOARD, "ok", "timeout")
    cameras(store, "lc-phong-tho-01", "timeout")
    incident = open_test_incident(db_conn, BOARD, "camera_unreachable")
    db_conn.execute(
        'UPDATE incidents SET details = \'{"camera_id": "cam2"}\' WHERE id = %s', (incident,)
    )
    page = as_("guard").get("/api/v1/cameras", params={"limit": 100}).json()
    assert page["total"] == 12  # six border boards, two cameras each
    assert {c["site_kind"] for c in page["items"]} == {"border_gate"}
    first = page["items"][0]
    assert (first["board_id"], first["camera_id"], first["health"]) == (BOARD, "cam2", "failing")
    assert first["open_incident_id"] == incident
    by_health = {(c["board_id"], c["camera_id"]): c["health"] for c in page["items"]}
    assert by_health[(BOARD, "cam1")] == "ok"
    assert by_health[("lc-mu-ca-01", "cam1")] == "unknown"
    failing = as_("guard").get("/api/v1/cameras", params={"health": "failing"}).json()
    assert failing["total"] == 1
    district = as_("district").get("/api/v1/cameras").json()
    assert [(c["board_id"], c["health"]) for c in district["items"]] == [
        ("lc-phong-tho-01", "failing")
    ]
    # reports older than ten minutes no longer say anything
    clock.advance(11 * 60)
    stale = as_("guard").get("/api/v1/cameras", params={"health": "unknown"}).json()
    assert stale["total"] == 12


def test_camera_series_for_the_border_guard(as_: Any, store: Store, clock: Clock) -> None:
    cameras(store, BOARD, "ok", "timeout")
    clock.advance(60)
    cameras(store, BOARD, "ok", "ok")
    url = f"/api/v1/cameras/{BOARD}/cam2/series"
    body = (
        as_("guard")
        .get(url, params={"until": (clock.now + timedelta(minutes=1)).isoformat()})
        .json()
    )
    assert {p["camera_id"] for p in body["points"]} == {"cam2"}
    assert sum(p["samples"] for p in body["points"]) == 2
    assert as_("guard").get("/api/v1/cameras/lc-phong-tho-01/cam1/series").status_code == 404
    assert as_("guard").get(f"/api/v1/cameras/{BOARD}/cam9/series").status_code == 404
