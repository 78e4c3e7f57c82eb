"""Screen and camera proof rules (issue 18): the board's verdicts on its own
pictures held for/clear-for like every rule, only while the screen should be
on air, one condition per camera; the QCVN 135:2024 camera findings; and the
picture asked of the board when such an incident opens."""

from __future__ import annotations

import json
from datetime import time
from typing import Any

import pytest

import fleet_protocol as fp
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.engine.telemetry_rules import DEFAULTS, BoardInputs, Reading
from fleet_server.incidents.titles import render
from fleet_server.thresholds.catalogue import CATALOGUE
from tests.server.engine.conftest import Conn, Store, incidents
from tests.server.engine.test_telemetry_rules import NOW, observed
from tests.support.clock import Clock

WINDOWS = [(time(6, 30), time(9, 30)), (time(16, 30), time(19, 30))]  # NOW is 08:00 local
BOARD = "lc-sin-ho-01"
SCREEN_RULES = ("screen_black", "screen_frozen", "screen_wrong_content")


def screen(**check: Any) -> fp.ScreenCheck:
    base: dict[str, Any] = {
        "captured_at": NOW,
        "phash": "0123456789abcdef",
        "luma_mean": 90.0,
        "luma_stddev": 40.0,
        "black": False,
        "frozen": False,
        "source": "x11",
    }
    return fp.ScreenCheck(**{**base, **check})


def display(check: fp.ScreenCheck | None, **data: Any) -> fp.DisplayData:
    base: dict[str, Any] = {"screen_on": True, "player_running": True, "content_id": "item-1"}
    return fp.DisplayData(**{**base, **data}, screen=check)


def picture(**check: Any) -> fp.CameraPicture:
    base: dict[str, Any] = {
        "captured_at": NOW,
        "phash": "ffff0000ffff0000",
        "luma_mean": 110.0,
        "luma_stddev": 35.0,
        "black": False,
        "frozen": False,
    }
    return fp.CameraPicture(**{**base, **check})


def cam(camera_id: str = "gate", status: str = "ok", **data: Any) -> fp.CameraStatus:
    up = status in ("ok", "unauthorized")
    return fp.CameraStatus(
        camera_id=camera_id,
        reachable=up,
        rtsp_answered=up,
        status=status,  # type: ignore[arg-type]
        **data,
    )


def judged(
    data: fp.DisplayData | None = None,
    cameras: list[fp.CameraStatus] | None = None,
    *,
    windows: list[tuple[time, time]] = WINDOWS,
    active: set[str] = frozenset(),  # type: ignore[assignment]
) -> dict[str, bool | None]:
    inputs = BoardInputs(
        display=None if data is None else Reading(data, NOW, NOW, NOW),
        camera=None if cameras is None else Reading(fp.CameraData(cameras=cameras), NOW, NOW, NOW),
        windows=windows,
    )
    return observed(inputs, active)


# -- the screen -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ({}, (False, False, None)),
        ({"black": True, "luma_mean": 3.0, "luma_stddev": 1.0}, (True, False, None)),
        ({"frozen": True, "same_count": 6}, (False, True, None)),
        # a black screen is black, not also frozen
        ({"black": True, "frozen": True}, (True, False, None)),
        ({"wrong_content": True, "reference_distance": 40}, (False, False, True)),
        ({"wrong_content": False, "reference_distance": 3}, (False, False, False)),
    ],
)
def test_the_boards_screen_verdicts(check: dict[str, Any], expected: tuple[Any, ...]) -> None:
    result = judged(display(screen(**check)))
    assert tuple(result[rule] for rule in SCREEN_RULES) == expected


@pytest.mark.parametrize(
    ("data", "windows"),
    [
        ({"halted": "blank_screen"}, WINDOWS),  # dark by a kill-switch order (Điều 12.2)
        ({"halted": "stop_content"}, WINDOWS),
        ({}, [(time(16, 30), time(19, 30))]),  # outside the broadcast windows
        ({"screen_on": False}, WINDOWS),  # display_dark's incident, not these
        ({"player_running": False}, WINDOWS),
    ],
)
def test_no_screen_incident_when_the_screen_should_not_be_on_air(
    data: dict[str, Any], windows: list[tuple[time, time]]
) -> None:
    check = screen(black=True, frozen=True, wrong_content=True)
    result = judged(display(check, **data), windows=windows)
    assert [result[rule] for rule in SCREEN_RULES] == [False, False, False]


def test_a_board_without_screen_proof_tells_nothing() -> None:
    result = judged(display(None, screen_error="no display server"))
    assert not any(rule in result for rule in SCREEN_RULES)
    assert judged(display(screen()))["screen_wrong_content"] is None  # no reference frames


# -- the cameras ------------------------------------------------------------------------


def test_each_cameras_picture_is_its_own_condition() -> None:
    result = judged(
        cameras=[
            cam("gate", picture=picture(black=True, luma_mean=2, luma_stddev=1)),
            cam("road", picture=picture(covered=True, luma_stddev=2)),
            cam("yard", picture=picture(frozen=True, same_count=9, moved=True)),
            cam("lane", status="timeout", picture_error="no frame within 10 s"),
            cam("dock", picture_error="ffmpeg failed"),
        ]
    )
    rules = ("camera_black", "camera_frozen", "camera_covered", "camera_moved")
    seen = {
        c: tuple(result[f"{r}:{c}"] for r in rules)
        for c in ("gate", "road", "yard", "lane", "dock")
    }
    assert seen == {
        "gate": (True, False, False, None),  # no reference set: moved unknown
        "road": (False, False, True, None),
        "yard": (False, True, False, True),
        "lane": (False, False, False, False),  # not answering: camera_unreachable's
        "dock": (None, None, None, None),  # no picture: nothing to judge
    }


def test_a_camera_no_longer_reported_clears_its_picture_conditions() -> None:
    active = {"camera_covered:old", "camera_default_credentials:old"}
    result = judged(cameras=[cam("gate", picture=picture())], active=active)
    assert result["camera_covered:old"] is False
    assert result["camera_default_credentials:old"] is False


def test_qcvn_camera_findings() -> None:
    result = judged(
        cameras=[
            cam("gate", firmware="V5.5.0", default_credentials=True, picture=picture()),
            cam("road", default_credentials=False, picture=picture()),
            cam("yard", firmware="2.1", default_credentials=False),
            cam("old"),  # an agent that makes no such checks
        ]
    )
    assert result["camera_default_credentials:gate"] is True
    assert result["camera_firmware_unknown:gate"] is False
    assert result["camera_default_credentials:road"] is False
    assert result["camera_firmware_unknown:road"] is True
    assert result["camera_firmware_unknown:yard"] is False
    assert result["camera_default_credentials:old"] is None
    assert result["camera_firmware_unknown:old"] is None


def test_the_new_rules_are_overridable_with_titles_in_both_languages() -> None:
    rules = (
        *SCREEN_RULES,
        "camera_black",
        "camera_frozen",
        "camera_covered",
        "camera_moved",
        "camera_default_credentials",
        "camera_firmware_unknown",
    )
    for rule in rules:
        entry = CATALOGUE[rule]
        assert {p.name for p in entry.params} == {"for_s", "clear_for_s", "severity"}
        assert dict(entry.defaults) == DEFAULTS[rule]
        assert entry.title_vi
        assert entry.title_en
    assert render("camera_covered", {"board": BOARD, "camera": "gate"}, "vi") == (
        f"Camera gate bị che ống kính — {BOARD}"
    )
    assert render("camera_covered", {"board": BOARD, "camera": "gate"}, "en") == (
        f"Camera gate: lens covered — {BOARD}"
    )


# -- through the engine, on a real database ----------------------------------------------


class Board:
    """One board sending display and camera readings at the clock's time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        store.state(BOARD, "online")

    def screen(self, **check: Any) -> None:
        self.store.heartbeat(BOARD)
        self.store.reading(BOARD, fp.TelemetryKind.DISPLAY, display(screen(**check)))

    def cameras(self, *cameras: fp.CameraStatus) -> None:
        self.store.heartbeat(BOARD)
        self.store.reading(BOARD, fp.TelemetryKind.CAMERA, fp.CameraData(cameras=list(cameras)))


def commands(conn: Conn) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT request_id, command, args, created_by, state FROM board_commands ORDER BY id"
    ).fetchall()


@pytest.fixture
def at_eight(clock: Clock) -> Clock:
    clock.set(NOW)  # 08:00 in Lai Châu: inside the default broadcast windows
    return clock


def test_a_frozen_screen_opens_after_its_hold_asks_for_a_picture_and_clears(
    seeded: str, store: Store, at_eight: Clock, engine_conn: Conn
) -> None:
    clock = at_eight
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    board = Board(store)
    hold = DEFAULTS["screen_frozen"]["for_s"]
    for _ in range(hold // 60):
        board.screen(frozen=True, same_count=6)
        engine.evaluate(engine_conn)
        assert incidents(engine_conn) == []
        clock.advance(60)
    board.screen(frozen=True, same_count=11)
    engine.evaluate(engine_conn)
    opened = incidents(engine_conn)
    assert [(r[1], r[2], r[3]) for r in opened] == [("screen_frozen", "open", BOARD)]
    incident_id = opened[0][0]
    # the incident gets its picture: a screenshot command for the API's retry to publish
    assert commands(engine_conn) == [
        (
            f"proof-{incident_id}-0",
            "screenshot",
            {"source": "screen"},
            "engine:screen_frozen",
            "queued",
        )
    ]
    engine.evaluate(engine_conn)
    assert len(commands(engine_conn)) == 1  # one per opening
    title = engine_conn.execute(
        "SELECT title_key, class FROM incidents WHERE id = %s", (incident_id,)
    ).fetchone()
    assert title == ("screen_frozen", "technical")
    # fixed: clears after clear_for_s
    board.screen()
    engine.evaluate(engine_conn)
    clock.advance(DEFAULTS["screen_frozen"]["clear_for_s"] + 1)
    board.screen()
    engine.evaluate(engine_conn)
    assert [r[2] for r in incidents(engine_conn)] == ["resolved"]
    # frozen again soon after: the incident reopens and asks for a new picture
    for _ in range(hold // 60 + 1):
        board.screen(frozen=True, same_count=6)
        engine.evaluate(engine_conn)
        clock.advance(60)
    assert [r[2] for r in incidents(engine_conn)] == ["open"]
    assert [c[0] for c in commands(engine_conn)] == [
        f"proof-{incident_id}-0",
        f"proof-{incident_id}-1",
    ]


def test_a_covered_camera_opens_per_camera_and_an_override_shortens_the_hold(
    seeded: str, store: Store, at_eight: Clock, engine_conn: Conn
) -> None:
    clock = at_eight
    site = engine_conn.execute("SELECT site_id FROM boards WHERE id = %s", (BOARD,)).fetchone()
    assert site is not None
    engine_conn.execute(
        "INSERT INTO rule_overrides (rule, site_id, params) VALUES ('camera_covered', %s, %s)",
        (site[0], json.dumps({"for_s": 0, "severity": "critical"})),
    )
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    board = Board(store)
    board.cameras(
        cam("gate", picture=picture(covered=True, luma_stddev=2), default_credentials=False),
        cam("road", picture=picture(), firmware="1.0", default_credentials=False),
    )
    engine.evaluate(engine_conn)
    rows = engine_conn.execute(
        "SELECT id, dedupe_key, severity, class, title_params FROM incidents ORDER BY id"
    ).fetchall()
    assert [(r[1], r[2], r[3]) for r in rows] == [
        (f"board:{BOARD}:camera_covered:gate", "critical", "technical"),
        (f"board:{BOARD}:camera_firmware_unknown:gate", "minor", "compliance"),
    ]
    assert rows[0][4] == {"board": BOARD, "camera": "gate"}
    covered_id = rows[0][0]
    assert commands(engine_conn) == [
        (
            f"proof-{covered_id}-0",
            "screenshot",
            {"source": "camera", "camera_id": "gate"},
            "engine:camera_covered",
            "queued",
        )
    ]
    # the tape comes off: cleared after the camera rules' clear hold
    board.cameras(cam("gate", picture=picture(), default_credentials=False, firmware="5.5"))
    engine.evaluate(engine_conn)
    clock.advance(DEFAULTS["camera_covered"]["clear_for_s"] + 1)
    board.cameras(cam("gate", picture=picture(), default_credentials=False, firmware="5.5"))
    engine.evaluate(engine_conn)
    assert [r[2] for r in incidents(engine_conn)] == ["resolved", "resolved"]


def test_default_credentials_is_a_finding_the_border_guard_sees(
    seeded: str, store: Store, at_eight: Clock, engine_conn: Conn
) -> None:
    from fleet_server.access.scope import CAMERA_RULE_PATTERN  # noqa: PLC0415

    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=at_eight)
    Board(store).cameras(cam("gate", firmware="V5.5.0", default_credentials=True))
    engine.evaluate(engine_conn)
    row = engine_conn.execute(
        "SELECT rule, class, severity, rule LIKE %s FROM incidents", (CAMERA_RULE_PATTERN,)
    ).fetchone()
    assert row == ("camera_default_credentials", "compliance", "major", True)
    assert commands(engine_conn) == []  # a finding needs no picture


def test_no_screen_incident_while_the_board_is_halted(
    seeded: str, store: Store, at_eight: Clock, engine_conn: Conn
) -> None:
    clock = at_eight
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    Board(store)
    for _ in range(8):
        store.heartbeat(BOARD)
        store.reading(
            BOARD,
            fp.TelemetryKind.DISPLAY,
            display(screen(black=True, luma_mean=1, luma_stddev=0.5), halted="blank_screen"),
        )
        engine.evaluate(engine_conn)
        clock.advance(60)
    assert incidents(engine_conn) == []
