"""Rules on measurements: pure evaluation (hysteresis, broadcast windows) and
through the engine on a real database (for-durations, overrides, cameras)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

import fleet_protocol as fp
from fleet_server.engine.keys import DedupeKey
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.engine.telemetry_rules import (
    DEFAULTS,
    BoardInputs,
    Reading,
    evaluate,
    in_broadcast_window,
    merged_params,
)
from tests.server.engine.conftest import Conn, Store, incidents
from tests.support.clock import Clock

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)  # 08:00 in Lai Châu
BOARD = "lc-sin-ho-01"


def heartbeat_data(**data: Any) -> fp.HeartbeatData:
    """A heartbeat with ``data`` and plain values for the fields a test leaves out."""
    base = {"uptime_s": 60, "agent_version": "1.0", "cpu_percent": 5, "memory_percent": 20}
    return fp.HeartbeatData.model_validate({"disk_percent": 10, **base, **data}, strict=False)


def heartbeat(**data: Any) -> Reading[fp.HeartbeatData]:
    return Reading(heartbeat_data(**data), NOW, NOW, NOW)


def power_data(**data: Any) -> fp.PowerData:
    base = {"source": "ups", "on_battery": data.get("mains_present") is False}
    return fp.PowerData.model_validate({**base, **data}, strict=False)


def power(**data: Any) -> Reading[fp.PowerData]:
    return Reading(power_data(**data), NOW, NOW, NOW)


def observed(
    inputs: BoardInputs,
    active: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, bool | None]:
    return {o.suffix: o.observed for o in evaluate(inputs, merged_params([]), active, NOW, 180)}


def test_battery_hysteresis() -> None:
    inputs = BoardInputs(power=power(battery_percent=35, mains_present=False))
    assert observed(inputs)["battery_low"] is False  # 35 % does not open (< 30 does)
    assert observed(inputs, {"battery_low"})["battery_low"] is True  # nor clear (> 40 does)
    inputs.power = power(battery_percent=41, mains_present=False)
    assert observed(inputs, {"battery_low"})["battery_low"] is False


def test_missing_or_old_data_tells_nothing() -> None:
    hour_ago = NOW - timedelta(hours=1)
    old = Reading(power_data(mains_present=False), hour_ago, hour_ago, hour_ago)
    result = observed(BoardInputs(power=old))
    assert result["mains_lost"] is None
    assert result["battery_low"] is None


def test_display_dark_only_inside_broadcast_windows() -> None:
    windows = [(time(6, 30), time(9, 30)), (time(16, 30), time(19, 30))]
    assert in_broadcast_window(windows, NOW)  # 08:00 local
    assert not in_broadcast_window(windows, NOW + timedelta(hours=3))  # 11:00 local
    display = Reading(fp.DisplayData(screen_on=False, player_running=True), NOW, NOW, NOW)
    inputs = BoardInputs(display=display, windows=windows)
    assert observed(inputs)["display_dark"] is True
    inputs.windows = [(time(16, 30), time(19, 30))]
    assert observed(inputs)["display_dark"] is False


def test_each_camera_is_its_own_condition() -> None:
    cams = [
        fp.CameraStatus(camera_id="cam1", reachable=False, rtsp_answered=False, status="timeout"),
        fp.CameraStatus(
            camera_id="cam2", reachable=True, rtsp_answered=True, status="unauthorized"
        ),
    ]
    camera = Reading(fp.CameraData(cameras=cams), NOW, NOW, NOW)
    result = observed(BoardInputs(camera=camera))
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
        ("disk_full", BoardInputs(heartbeat=heartbeat(disk_percent=91)), set(), True),
        (
            "disk_full",
            BoardInputs(heartbeat=heartbeat(disk_percent=88)),
            {"disk_full"},
            True,
        ),
        (
            "disk_full",
            BoardInputs(heartbeat=heartbeat(disk_percent=84)),
            {"disk_full"},
            False,
        ),
        ("overheating", BoardInputs(heartbeat=heartbeat(temperature_c=80)), set(), True),
        ("overheating", BoardInputs(heartbeat=heartbeat(temperature_c=72)), set(), False),
        ("agent_restarting", BoardInputs(boots_last_hour=3), set(), True),
        ("agent_restarting", BoardInputs(boots_last_hour=1), set(), False),
        ("spool_dropping", BoardInputs(dropped_last_hour=12), set(), True),
        (
            "spool_degraded",
            BoardInputs(heartbeat=heartbeat(spool_degraded=True)),
            set(),
            True,
        ),
        (
            "spool_degraded",
            BoardInputs(heartbeat=heartbeat(disk_percent=99)),
            set(),
            False,
        ),
        ("mains_lost", BoardInputs(power=power(mains_present=False)), set(), True),
        ("mains_lost", BoardInputs(power=power(mains_present=True)), set(), False),
    ],
)
def test_rule_thresholds(
    rule: str, inputs: BoardInputs, active: set[str], expected: bool | None
) -> None:
    assert observed(inputs, active).get(rule) == expected


def test_clock_skew_behind_and_ahead() -> None:
    for board_clock in (NOW - timedelta(minutes=6), NOW + timedelta(minutes=6)):
        skewed = Reading(heartbeat_data(disk_percent=1), board_clock, NOW, NOW)
        assert observed(BoardInputs(heartbeat=skewed))["clock_skew"] is True
    fine = Reading(heartbeat_data(disk_percent=1), NOW - timedelta(seconds=2), NOW, NOW)
    assert observed(BoardInputs(heartbeat=fine))["clock_skew"] is False
    # held 10 minutes in the spool: not current, its clock not judged on it
    ten_min_ago = NOW - timedelta(minutes=10)
    replayed = Reading(heartbeat_data(disk_percent=1), ten_min_ago, NOW, ten_min_ago)
    assert "clock_skew" not in observed(BoardInputs(heartbeat=replayed))


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


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("board:lc-sin-ho-01:mains_lost", DedupeKey.board("lc-sin-ho-01", "mains_lost")),
        (
            "board:lc-sin-ho-01:camera_unreachable:cam_1",
            DedupeKey.board("lc-sin-ho-01", "camera_unreachable", "cam_1"),
        ),
        ("site:12:site_outage", DedupeKey.site(12, "site_outage")),
    ],
)
def test_dedupe_key_round_trip(text: str, key: DedupeKey) -> None:
    assert DedupeKey.parse(text) == key
    assert str(key) == text
    assert DedupeKey.parse(str(key)) == key


@pytest.mark.parametrize(
    "text",
    ["compliance:lc-sin-ho-01:2026-11-28", "board:x", "board::mains_lost", "site:1:a:b", ""],
)
def test_other_keys_are_not_engine_keys(text: str) -> None:
    assert DedupeKey.parse(text) is None


def test_camera_key_suffix_is_rule_and_camera() -> None:
    key = DedupeKey.board(BOARD, "camera_unreachable", "cam1")
    assert key.suffix == "camera_unreachable:cam1"
    assert DedupeKey.board(BOARD, "disk_full").suffix == "disk_full"


def test_board_latest_reads_back_into_the_protocol_models() -> None:
    """What ingest stores (``model_dump_json``) reads back into the same model."""
    from fleet_server.engine.storage import read_data  # noqa: PLC0415

    data = fp.DisplayData(player_running=True, content_sha256="ab" * 32, content_started_at=NOW)
    stored = json.loads(data.model_dump_json())
    assert read_data(fp.DisplayData, stored, BOARD, "display") == data
    assert read_data(fp.DisplayData, {"player_running": "nope"}, BOARD, "display") is None
