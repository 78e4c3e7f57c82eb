"""Rules on measurements: pure evaluation (hysteresis, broadcast windows) and
through the engine on a real database (for-durations, overrides, cameras)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta

import pytest

import fleet_protocol as fp
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.engine.telemetry_rules import (
    DEFAULTS,
    BoardInputs,
    Reading,
    evaluate,
    in_broadcast_window,
    merged_params,
)
from tests.server.engine.conftest import Clock, Conn, Store, incidents

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Lai Châu
BOARD = "lc-sin-ho-01"


def reading(**data: object) -> Reading:
    return Reading(dict(data), NOW, NOW, NOW)


def observed(
    inputs: BoardInputs,
    active: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, bool | None]:
    return {
        suffix: value
        for _, (suffix, value, _d) in evaluate(inputs, merged_params([]), active, NOW, 180)
    }


def test_battery_hysteresis() -> None:
    inputs = BoardInputs(latest={"power": reading(battery_percent=35, mains_present=False)})
    assert observed(inputs)["battery_low"] is False  # 35 % does not open (< 30 does)
    assert observed(inputs, {"battery_low"})["battery_low"] is True  # nor clear (> 40 does)
    inputs.latest["power"] = reading(battery_percent=41, mains_present=False)
    assert observed(inputs, {"battery_low"})["battery_low"] is False


def test_missing_or_old_data_tells_nothing() -> None:
    hour_ago = NOW - timedelta(hours=1)
    old = Reading({"mains_present": False}, hour_ago, hour_ago, hour_ago)
    result = observed(BoardInputs(latest={"power": old}))
    assert result["mains_lost"] is None
    assert result["battery_low"] is None


def test_display_dark_only_inside_broadcast_windows() -> None:
    windows = [(time(6, 30), time(9, 30)), (time(16, 30), time(19, 30))]
    assert in_broadcast_window(windows, NOW)  # 08:00 local
    assert not in_broadcast_window(windows, NOW + timedelta(hours=3))  # 11:00 local
    inputs = BoardInputs(
        latest={"display": reading(screen_on=False, player_running=True)}, windows=windows
    )
    assert observed(inputs)["display_dark"] is True
    inputs.windows = [(time(16, 30), time(19, 30))]
    assert observed(inputs)["display_dark"] is False


def test_each_camera_is_its_own_condition() -> None:
    cams = [
        {"camera_id": "cam1", "status": "timeout"},
        {"camera_id": "cam2", "status": "unauthorized"},
    ]
    result = observed(BoardInputs(latest={"camera": reading(cameras=cams)}))
    assert result["camera_unreachable:cam1"] is True
    assert result["camera_unreachable:cam2"] is False  # 401: alive


def test_overrides_board_beats_site() -> None:
    params = merged_params([{"disk_full": {"open_above": 80}}, {"disk_full": {"open_above": 95}}])
    assert params["disk_full"]["open_above"] == 95
    assert params["disk_full"]["clear_below"] == DEFAULTS["disk_full"]["clear_below"]


def test_mains_lost_opens_after_its_for_duration(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    store.state(BOARD, "online")
    store.heartbeat(BOARD)
    store.power(BOARD, mains=False)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn) == []
    clock.advance(61)
    engine.evaluate(engine_conn)
    assert [r[1] for r in incidents(engine_conn)] == ["mains_lost"]


def test_board_override_changes_a_threshold(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine_conn.execute(
        "INSERT INTO rule_overrides (rule, board_id, params) VALUES ('mains_lost', %s, %s)",
        (BOARD, json.dumps({"for_s": 0})),
    )
    engine_conn.commit()
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    store.state(BOARD, "online")
    store.power(BOARD, mains=False)
    engine.evaluate(engine_conn)
    assert [r[1] for r in incidents(engine_conn)] == ["mains_lost"]


def test_camera_incident_per_camera(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    store.state(BOARD, "online")
    cams = fp.CameraData(
        cameras=[
            fp.CameraStatus(
                camera_id="cam1", reachable=False, rtsp_answered=False, status="timeout"
            ),
            fp.CameraStatus(camera_id="cam2", reachable=True, rtsp_answered=True, status="ok"),
        ]
    )

    def report(seq: int) -> None:
        now = clock()
        store.heartbeat(BOARD)
        store.send(
            fp.CameraMessage(
                schema_version=1,
                device_id=BOARD,
                boot=1,
                seq=seq,
                measured_at=now,
                sent_at=now,
                data=cams,
            ),
            fp.telemetry_topic(BOARD, "camera"),
        )

    for i in range(6):  # a camera reading a minute, as the agent sends them
        report(100 + i)
        engine.evaluate(engine_conn)
        clock.advance(61)
    keys = [r[0] for r in engine_conn.execute("SELECT dedupe_key FROM incidents")]
    assert keys == [f"board:{BOARD}:camera_unreachable:cam1"]


def test_lost_board_raises_no_telemetry_incidents(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    store.state(BOARD, "online")
    store.power(BOARD, mains=False)
    store.state(BOARD, "lost")
    engine.evaluate(engine_conn)
    clock.advance(61)
    engine.evaluate(engine_conn)
    assert [r[1] for r in incidents(engine_conn)] == ["board_lost"]


def show(store: Store, clock: Clock, sha: str, seq: int) -> None:
    now = clock()
    data = fp.DisplayData(
        screen_on=True,
        player_running=True,
        content_id="clip",
        content_kind="advertising",
        content_sha256=sha,
        content_started_at=now,
    )
    store.send(
        fp.DisplayMessage(
            schema_version=1,
            device_id=BOARD,
            boot=1,
            seq=seq,
            measured_at=now,
            sent_at=now,
            data=data,
        ),
        fp.telemetry_topic(BOARD, "display"),
    )


def approve(conn: Conn, sha: str, valid_from: datetime, valid_to: datetime | None) -> None:
    conn.execute(
        "INSERT INTO content_items (title, kind, language, sha256, valid_from, valid_to,"
        " approved_by) VALUES ('Tuyên truyền', 'propaganda', 'vi', %s, %s, %s, 'so-tttt')",
        (sha, valid_from, valid_to),
    )


def test_unapproved_content_is_a_security_incident_at_once(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)  # default telemetry cadence: content is every pass
    store.state(BOARD, "online")
    show(store, clock, "ab" * 32, 50)
    engine.evaluate(engine_conn)
    rows = engine_conn.execute(
        "SELECT rule, class, severity, details->>'sha256' FROM incidents"
    ).fetchall()
    assert rows == [("content_unapproved", "security", "critical", "ab" * 32)]


def test_approved_content_outside_its_validity(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    approve(engine_conn, "cd" * 32, clock() - timedelta(days=30), clock() - timedelta(days=1))
    engine = Engine(seeded, clock=clock)
    store.state(BOARD, "online")
    show(store, clock, "cd" * 32, 50)
    engine.evaluate(engine_conn)
    details = engine_conn.execute("SELECT details->>'why' FROM incidents").fetchall()
    assert details == [("outside its approved validity",)]


def test_approved_content_raises_nothing(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    approve(engine_conn, "ef" * 32, clock() - timedelta(days=1), None)
    engine = Engine(seeded, clock=clock)
    store.state(BOARD, "online")
    show(store, clock, "ef" * 32, 50)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn) == []


@pytest.mark.parametrize(
    ("rule", "inputs", "active", "expected"),
    [
        ("network_degraded", BoardInputs(loss_avg=25.0), set(), True),
        ("network_degraded", BoardInputs(loss_avg=15.0), set(), False),
        ("network_degraded", BoardInputs(loss_avg=15.0), {"network_degraded"}, True),
        ("network_degraded", BoardInputs(rtt_avg=1600.0), set(), True),
        ("network_degraded", BoardInputs(), set(), None),
        ("disk_full", BoardInputs(latest={"heartbeat": reading(disk_percent=91)}), set(), True),
        (
            "disk_full",
            BoardInputs(latest={"heartbeat": reading(disk_percent=88)}),
            {"disk_full"},
            True,
        ),
        (
            "disk_full",
            BoardInputs(latest={"heartbeat": reading(disk_percent=84)}),
            {"disk_full"},
            False,
        ),
        ("overheating", BoardInputs(latest={"heartbeat": reading(temperature_c=80)}), set(), True),
        ("overheating", BoardInputs(latest={"heartbeat": reading(temperature_c=72)}), set(), False),
        ("agent_restarting", BoardInputs(boots_last_hour=3), set(), True),
        ("agent_restarting", BoardInputs(boots_last_hour=1), set(), False),
        ("spool_dropping", BoardInputs(dropped_last_hour=12), set(), True),
        (
            "spool_degraded",
            BoardInputs(latest={"heartbeat": reading(spool_degraded=True)}),
            set(),
            True,
        ),
        (
            "spool_degraded",
            BoardInputs(latest={"heartbeat": reading(disk_percent=99)}),
            set(),
            False,
        ),
        ("mains_lost", BoardInputs(latest={"power": reading(mains_present=False)}), set(), True),
        ("mains_lost", BoardInputs(latest={"power": reading(mains_present=True)}), set(), False),
    ],
)
def test_rule_thresholds(
    rule: str, inputs: BoardInputs, active: set[str], expected: bool | None
) -> None:
    assert observed(inputs, active).get(rule) == expected


def test_clock_skew_behind_and_ahead() -> None:
    for board_clock in (NOW - timedelta(minutes=6), NOW + timedelta(minutes=6)):
        skewed = Reading({"disk_percent": 1}, board_clock, NOW, NOW)
        assert observed(BoardInputs(latest={"heartbeat": skewed}))["clock_skew"] is True
    fine = Reading({"disk_percent": 1}, NOW - timedelta(seconds=2), NOW, NOW)
    assert observed(BoardInputs(latest={"heartbeat": fine}))["clock_skew"] is False
    # held 10 minutes in the spool: not current, its clock not judged on it
    ten_min_ago = NOW - timedelta(minutes=10)
    replayed = Reading({"disk_percent": 1}, ten_min_ago, NOW, ten_min_ago)
    assert "clock_skew" not in observed(BoardInputs(latest={"heartbeat": replayed}))


def test_removed_camera_and_disabled_board_incidents_resolve(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    store.state(BOARD, "online")

    def report(seq: int, cameras: list[fp.CameraStatus]) -> None:
        now = clock()
        store.heartbeat(BOARD)
        store.send(
            fp.CameraMessage(
                schema_version=1,
                device_id=BOARD,
                boot=1,
                seq=seq,
                measured_at=now,
                sent_at=now,
                data=fp.CameraData(cameras=cameras),
            ),
            fp.telemetry_topic(BOARD, "camera"),
        )

    broken = fp.CameraStatus(
        camera_id="cam9", reachable=False, rtsp_answered=False, status="refused"
    )
    for i in range(7):
        report(200 + i, [broken])
        engine.evaluate(engine_conn)
        clock.advance(61)
    assert [r[2] for r in incidents(engine_conn)] == ["open"]
    for i in range(4):  # cam9 was taken off the board
        report(300 + i, [])
        engine.evaluate(engine_conn)
        clock.advance(61)
    assert [r[2] for r in incidents(engine_conn)] == ["resolved"]
    store.power(BOARD, mains=False)
    for _ in range(3):
        store.heartbeat(BOARD)
        engine.evaluate(engine_conn)
        clock.advance(61)
    assert [r[1] for r in incidents(engine_conn, "state = 'open'")] == ["mains_lost"]
    engine_conn.execute("UPDATE boards SET enabled = false WHERE id = %s", (BOARD,))
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)  # reloads boards
    engine.evaluate(engine_conn)
    assert incidents(engine_conn, "state = 'open'") == []
