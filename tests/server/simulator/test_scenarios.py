"""Each scenario produces the telemetry that characterises it (real Mosquitto)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import fleet_protocol as fp
from fleet_server.simulator.agents import AgentFleet
from fleet_server.simulator.runtime import Fleet
from fleet_server.simulator.scenarios import SCENARIOS, Timing
from fleet_server.simulator.seed import fleet_specs
from tests.support.mosquitto import Mosquitto
from tests.support.subscriber import Received, Subscriber

FAST = Timing(start=0.5, power_back=6.0, flap_down=(1.5, 2.0), flap_up=(1.0, 1.5), flaps=1)
FAST_INTERVALS = dict.fromkeys(fp.TelemetryKind, 0.5)


# Real edge-agent threads on a scenario clock. In one pytest process with the
# whole suite, leftovers of other tests (the browser tests' Playwright and
# Chromium at least) made last wills go missing; scripts/dev test runs these
# in a process of their own.
pytestmark = pytest.mark.isolated


@contextmanager
def fleet_running(
    mosquitto: Mosquitto,
    scenario: str,
    boards: int = 14,
    battery_runtime_s: float = 2.0,
    *,
    agents: Path | None = None,
) -> Iterator[tuple[Any, list[str]]]:
    """Run the multiplexed fleet, or real edge agents when ``agents`` (a
    spool directory) is given."""
    specs = [b for _, b in fleet_specs(boards)]
    fleet: Fleet | AgentFleet
    if agents is None:
        fleet = Fleet(
            specs,
            "127.0.0.1",
            mosquitto.port,
            intervals=FAST_INTERVALS,
            battery_runtime_s=battery_runtime_s,
            keepalive_s=5,
        )
    else:
        fleet = AgentFleet(
            specs,
            mosquitto.url,
            agents,
            intervals=FAST_INTERVALS,
            battery_runtime_s=battery_runtime_s,
            keepalive_s=5,
        )
    said: list[str] = []
    fleet.start()
    # Real agents: the scenario's clock starts once every agent is connected (AgentFleet).
    SCENARIOS[scenario](fleet, said.append, FAST)
    stop = threading.Event()
    thread = threading.Thread(target=fleet.run, args=(stop.is_set,), daemon=True)
    thread.start()
    try:
        yield fleet, said
    finally:
        stop.set()
        thread.join(10)
        fleet.stop()


@pytest.fixture(params=["multiplexed", "agents"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Path | None:
    """Both fleet runtimes: multiplexed boards and real edge agents."""
    return tmp_path / "spools" if request.param == "agents" else None


def of(messages: list[Received], device: str, suffix: str) -> list[Received]:
    return [m for m in messages if m.topic == f"fleet/v1/{device}/{suffix}"]


@pytest.fixture
def sub(mosquitto: Mosquitto) -> Iterator[Subscriber]:
    subscriber = Subscriber(mosquitto.port)
    yield subscriber
    subscriber.close()


def test_normal_every_board_reports_and_nobody_is_lost(
    mosquitto: Mosquitto, sub: Subscriber
) -> None:
    with fleet_running(mosquitto, "normal") as (fleet, _):
        devices = list(fleet.boards)
        sub.wait_for(
            lambda ms: all(of(ms, d, "telemetry/heartbeat") for d in devices),
            what="heartbeats from every board",
        )
    states = [m.doc["data"]["status"] for m in sub.messages if m.topic.endswith("/state")]
    assert "lost" not in states
    assert states.count("online") == len(devices)


def test_site_power_cut(mosquitto: Mosquitto, sub: Subscriber, runtime: Path | None) -> None:
    with fleet_running(mosquitto, "site-power-cut", agents=runtime) as (fleet, said):
        site = [b for b in fleet.boards.values() if b.spec.site == "ma-lu-thang"]
        ids = [b.device_id for b in site]
        msgs = sub.wait_for(
            lambda ms: all(
                any(m.doc["data"]["status"] == "lost" for m in of(ms, d, "state")) for d in ids
            ),
            what="last wills of the whole site",
            # The cut comes a few seconds into the scenario; real agent
            # threads start slowly when the machine is busy.
            timeout=60,
        )
        for device in ids:
            power = [m.doc["data"] for m in of(msgs, device, "telemetry/power")]
            assert any(p["mains_present"] is False and p["on_battery"] for p in power)
        msgs = sub.wait_for(
            lambda ms: all(
                any(
                    m.doc["data"]["status"] == "online" and m.doc["boot"] == 2
                    for m in of(ms, d, "state")
                )
                for d in ids
            ),
            what="boots after power returns",
            timeout=60,
        )
        others = [d for d in fleet.boards if d not in ids]
        assert not any(
            m.doc["data"]["status"] == "lost" for d in others for m in of(msgs, d, "state")
        )
    assert any("mất điện lưới" in s for s in said)
    assert any("hết pin" in s for s in said)


def test_uplink_flap(mosquitto: Mosquitto, sub: Subscriber, runtime: Path | None) -> None:
    with fleet_running(mosquitto, "uplink-flap", agents=runtime) as (fleet, said):
        ids = [b.device_id for b in fleet.boards.values() if b.spec.site == "muong-te"]

        def replayed(ms: list[Received], device: str) -> list[Received]:
            return [
                m
                for m in ms
                if m.topic.startswith(f"fleet/v1/{device}/telemetry") and m.doc["replay"]
            ]

        # The new birth comes first after the reconnection, the replayed
        # backlog after it: wait for both.
        msgs = sub.wait_for(
            lambda ms: all(
                len([m for m in of(ms, d, "state") if m.doc["data"]["status"] == "online"]) >= 2
                and replayed(ms, d)
                for d in ids
            ),
            timeout=30,
            what="reconnection after the flap and the readings taken while the link was down",
        )
        for device in ids:
            statuses = [m.doc["data"]["status"] for m in of(msgs, device, "state")]
            assert statuses[:3] == ["online", "lost", "online"]
    assert any("4G" in s for s in said)


def test_camera_failure(mosquitto: Mosquitto, sub: Subscriber, runtime: Path | None) -> None:
    with fleet_running(mosquitto, "camera-failure", agents=runtime) as (fleet, _):
        board = next(b for b in fleet.boards.values() if b.spec.site == "ma-lu-thang")
        msgs = sub.wait_for(
            lambda ms: any(
                not c["rtsp_answered"]
                for m in of(ms, board.device_id, "telemetry/camera")
                for c in m.doc["data"]["cameras"]
            ),
            what="a camera not answering",
        )
    last = of(msgs, board.device_id, "telemetry/camera")[-1].doc["data"]["cameras"]
    assert [c["status"] == "ok" for c in last] == [False, True]


def test_display_off(mosquitto: Mosquitto, sub: Subscriber) -> None:
    with fleet_running(mosquitto, "display-off") as (fleet, _):
        board = next(b for b in fleet.boards.values() if b.spec.site == "phong-tho")
        sub.wait_for(
            lambda ms: any(
                m.doc["data"]["screen_on"] is False
                for m in of(ms, board.device_id, "telemetry/display")
            ),
            what="screen off",
        )


def test_screen_frozen(mosquitto: Mosquitto, sub: Subscriber, runtime: Path | None) -> None:
    """The player runs on, the screen proof says frozen once the picture
    has stayed the same for five readings."""
    with fleet_running(mosquitto, "screen-frozen", agents=runtime) as (fleet, said):
        board = next(b for b in fleet.boards.values() if b.spec.site == "tam-duong")
        msgs = sub.wait_for(
            lambda ms: any(
                (m.doc["data"].get("screen") or {}).get("frozen")
                for m in of(ms, board.device_id, "telemetry/display")
            ),
            what="a frozen screen",
            timeout=60,
        )
    frozen = next(
        m.doc["data"]
        for m in of(msgs, board.device_id, "telemetry/display")
        if (m.doc["data"].get("screen") or {}).get("frozen")
    )
    assert frozen["player_running"] is True
    assert frozen["screen_on"] is True
    assert frozen["screen"]["same_count"] >= 5
    assert frozen["screen"]["black"] is False
    assert any("đứng hình" in s for s in said)


def test_camera_covered(mosquitto: Mosquitto, sub: Subscriber, runtime: Path | None) -> None:
    with fleet_running(mosquitto, "camera-covered", agents=runtime) as (fleet, said):
        board = next(b for b in fleet.boards.values() if b.spec.site == "u-ma-tu-khoong")
        msgs = sub.wait_for(
            lambda ms: any(
                (c.get("picture") or {}).get("covered")
                for m in of(ms, board.device_id, "telemetry/camera")
                for c in m.doc["data"]["cameras"]
            ),
            what="a covered camera",
            timeout=60,
        )
    last = of(msgs, board.device_id, "telemetry/camera")[-1].doc["data"]["cameras"]
    # still answering RTSP: covered, not unreachable
    assert [(c["status"], c["picture"]["covered"]) for c in last] == [
        ("ok", True),
        ("ok", False),
    ]
    assert any("bị che" in s for s in said)


def test_unapproved_content(mosquitto: Mosquitto, sub: Subscriber) -> None:
    with fleet_running(mosquitto, "unapproved-content") as (fleet, _):
        board = next(b for b in fleet.boards.values() if b.spec.site == "tp-lai-chau")
        sub.wait_for(
            lambda ms: any(
                m.doc["data"].get("content_sha256") == board.sim.content.sha256
                and m.doc["data"].get("content_id") == "quang-cao-chua-duyet-01"
                for m in of(ms, board.device_id, "telemetry/display")
            ),
            what="unapproved file",
        )


def test_stuck_agent(mosquitto: Mosquitto, sub: Subscriber, runtime: Path | None) -> None:
    with fleet_running(mosquitto, "stuck-agent", agents=runtime) as (fleet, said):
        board = next(b for b in fleet.boards.values() if b.spec.site == "sin-ho")
        sub.wait_for(lambda _ms: bool(said), what="the freeze", timeout=60)
        # Heartbeats measured before the freeze may still arrive (the spool
        # flushes them); none may be measured after it.
        frozen_at = datetime.now(UTC)
        other = next(d for d in fleet.boards if d != board.device_id)
        seen = len(of(sub.messages, other, "telemetry/heartbeat"))
        sub.wait_for(
            lambda ms: len(of(ms, other, "telemetry/heartbeat")) >= seen + 4,
            what="other boards keep reporting",
        )
        after = [
            m
            for m in of(sub.messages, board.device_id, "telemetry/heartbeat")
            if datetime.fromisoformat(m.doc["measured_at"]) > frozen_at
        ]
        assert len(after) <= 1
        assert board.connected  # the process is alive: no last will
    assert not any(
        m.doc["data"]["status"] == "lost" for m in of(sub.messages, board.device_id, "state")
    )


def test_real_agents_start_the_scenario_clock_once_every_agent_is_connected(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """A step due at once, asked for before the agents start, runs only when
    every agent is connected (a board must be seen before its fault)."""
    specs = [b for _, b in fleet_specs(4)]
    fleet = AgentFleet(specs, mosquitto.url, tmp_path / "spools", keepalive_s=5)
    ran = threading.Event()
    connected_then: list[int] = []

    def step() -> None:
        connected_then.append(fleet.connected_count())
        ran.set()

    fleet.call_later(0, step)
    fleet.run_once()  # not started: the clock waits
    assert not fleet.clock_started.is_set()
    assert not ran.is_set()
    fleet.start()
    stop = threading.Event()
    thread = threading.Thread(target=fleet.run, args=(stop.is_set,), daemon=True)
    thread.start()
    try:
        assert ran.wait(60), "the step never ran"
        assert connected_then == [len(specs)]
        assert fleet.clock_started.is_set()
    finally:
        stop.set()
        thread.join(10)
        fleet.stop()
