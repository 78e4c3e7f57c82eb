"""The demo rule profile and the scenarios' forecasts (no services): the
profile is the demo's alone, every scenario is over by its printed
duration, and a demo restart continues the multiplexed boards' boots."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from fleet_server.engine.alerts import AlertSettings
from fleet_server.engine.service import EngineSettings
from fleet_server.engine.telemetry_rules import DEFAULTS
from fleet_server.simulator.outcome_model import clock
from fleet_server.simulator.outcomes import OUTCOMES, forecast
from fleet_server.simulator.profile import DEMO_PROFILE, DemoProfile
from fleet_server.simulator.runtime import Fleet
from fleet_server.simulator.scenarios import SCENARIOS
from fleet_server.simulator.seed import fleet_specs
from fleet_server.simulator.stage import record_sessions, resume_sessions
from fleet_server.tickets.models import AUTO_TICKETS

IN_WINDOW = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # 08:00 in Lai Châu
OUT_OF_WINDOW = datetime(2026, 12, 7, 5, 0, tzinfo=UTC)  # 12:00


class Recorder:
    """A fleet that records what a scenario schedules, and when."""

    def __init__(self, boards: int = 20) -> None:
        specs = [b for _, b in fleet_specs(boards)]
        self.boards = Fleet(specs, "127.0.0.1", 1).boards
        self.scheduled: list[float] = []

    def call_later(self, delay: float, action: Any) -> None:
        self.scheduled.append(delay)

    def set_link(self, board: Any, up: bool) -> None: ...
    def power_off(self, board: Any) -> None: ...
    def power_on(self, board: Any) -> None: ...


def test_the_profile_is_the_demos_only() -> None:
    """Production defaults stay as docs/engine.md says; the demo's engine
    settings are shorter, and through settings, not patched defaults."""
    demo = DEMO_PROFILE.engine_settings()
    default = EngineSettings()
    assert default.telemetry_params == {}
    assert default.alerts == AlertSettings()
    assert AUTO_TICKETS["site_outage"].after_s == 3600
    assert DEFAULTS["camera_unreachable"]["for_s"] == 300
    assert demo.alerts.auto_tickets["site_outage"].after_s == 60
    assert demo.alerts.auto_tickets["site_outage"].priority == "urgent"
    assert demo.telemetry_params["camera_unreachable"]["for_s"] == 30
    assert demo.alerts.confirm_board_s == 30
    assert demo.rules.site_outage.clear_for_s == 30
    assert "tickets after 60 s" in DEMO_PROFILE.describe()


def test_scaling_shrinks_durations_not_the_slack() -> None:
    small = DEMO_PROFILE.scaled(0.1)
    assert small.battery_runtime_s == pytest.approx(9.0)
    assert small.flap_down_s == pytest.approx((2.0, 4.0))
    assert small.slack_s == DEMO_PROFILE.slack_s
    assert small.flaps == DEMO_PROFILE.flaps
    assert small.engine_settings().alerts.auto_tickets["camera_unreachable"].after_s == 6
    with pytest.raises(ValueError, match="positive"):
        DEMO_PROFILE.scaled(0)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_scenario_is_over_by_its_duration(scenario: str) -> None:
    fleet = Recorder()
    outcome = forecast(scenario, fleet, DEMO_PROFILE, IN_WINDOW)
    SCENARIOS[scenario](fleet, lambda _: None, DEMO_PROFILE.timing())
    assert all(e.by_s <= outcome.duration_s for e in outcome.expectations)
    assert max(fleet.scheduled) < outcome.duration_s
    assert outcome.duration_s <= 8 * 60  # minutes, not hours
    lines = outcome.lines()
    assert lines[0].startswith(f"{scenario}: ")
    assert f"--duration {int(outcome.duration_s)}" in lines[-1]


def test_site_power_cut_outlasts_the_ups_and_its_ticket() -> None:
    p = DEMO_PROFILE
    outcome = OUTCOMES["site-power-cut"](Recorder(), p, IN_WINDOW)
    dead = p.fault_at_s + p.battery_runtime_s
    # the ticket opens while the site is still down, before power returns
    assert dead + p.ticket_after_s + p.telemetry_every_s < p.power_back_s
    assert outcome.expected("site_incident").by_s < outcome.expected("ticket").by_s
    assert outcome.expected("ticket").by_s < outcome.expected("resolved").by_s
    assert outcome.boards == ("lc-ma-lu-thang-01", "lc-ma-lu-thang-02")
    assert "holding its 2 board incidents" in outcome.expected("site_incident").en


def test_a_site_with_one_board_forecasts_a_board_incident() -> None:
    outcome = OUTCOMES["site-power-cut"](Recorder(boards=10), DEMO_PROFILE, IN_WINDOW)
    assert [e.key for e in outcome.expectations][:2] == ["incident", "incident"]


def test_display_off_says_when_a_dark_screen_is_no_fault() -> None:
    inside = OUTCOMES["display-off"](Recorder(), DEMO_PROFILE, IN_WINDOW)
    outside = OUTCOMES["display-off"](Recorder(), DEMO_PROFILE, OUT_OF_WINDOW)
    assert {e.key for e in inside.expectations} >= {"incident", "ticket", "notice"}
    assert [e.key for e in outside.expectations] == ["none"]
    assert "12:00 is outside the broadcast windows" in outside.expectations[0].en


def test_display_off_counts_a_window_that_opens_or_closes_during_the_fault() -> None:
    """Started at 06:28:30 the screen is dark when the 06:30 window opens: an
    incident then, later than inside a window; at 09:28 the window closes
    before the repair and the incident resolves with it."""
    inside = OUTCOMES["display-off"](Recorder(), DEMO_PROFILE, IN_WINDOW)
    opening = OUTCOMES["display-off"](
        Recorder(), DEMO_PROFILE, datetime(2026, 12, 6, 23, 28, 30, tzinfo=UTC)
    )
    incident = opening.expected("incident")
    assert incident.by_s > inside.expected("incident").by_s
    assert "once the broadcast window opens at 06:30" in incident.en
    # still dark a minute after it opened: its ticket too (seen in a run started 06:28)
    assert opening.expected("ticket").by_s < opening.expected("resolved").by_s
    # its upper bound: dark on air from 06:30 (90 s in), the hold, an engine tick, the slack
    assert incident.by_s <= 90 + DEMO_PROFILE.fault_hold_s + DEMO_PROFILE.telemetry_every_s + 25
    closing = OUTCOMES["display-off"](
        Recorder(), DEMO_PROFILE, datetime(2026, 12, 7, 2, 28, tzinfo=UTC)
    )
    assert closing.expected("resolved").by_s < inside.expected("resolved").by_s
    assert "broadcast window ends" in closing.expected("resolved").en
    # the scaled profile of the outcome tests forecasts the ticket too
    scaled = OUTCOMES["display-off"](Recorder(), DEMO_PROFILE.scaled(0.1), IN_WINDOW)
    assert {e.key for e in scaled.expectations} >= {"incident", "ticket", "notice", "resolved"}


def test_display_off_in_a_window_that_closes_too_soon_says_so() -> None:
    """Started at 09:29 the screen is dark in the window less than the hold:
    no incident, and the forecast does not call 09:29 outside the windows."""
    late = OUTCOMES["display-off"](
        Recorder(), DEMO_PROFILE, datetime(2026, 12, 7, 2, 29, tzinfo=UTC)
    )
    assert [e.key for e in late.expectations] == ["none"]
    assert "dark less than 30 s inside a broadcast window" in late.expectations[0].en
    assert "outside" not in late.expectations[0].en
    assert "chưa tới 30 s trong khung giờ phát" in late.expectations[0].vi


def test_the_screen_and_camera_proof_rules_get_the_demos_short_holds() -> None:
    demo = DEMO_PROFILE.engine_settings().telemetry_params
    for rule in ("screen_black", "screen_frozen", "screen_wrong_content", "camera_covered"):
        assert DEFAULTS[rule]["for_s"] >= 120  # production stays as it is
        assert demo[rule] == demo["display_dark"] == {"for_s": 30, "clear_for_s": 30}
    assert demo["camera_covered"] == demo["camera_unreachable"]


def test_screen_frozen_counts_broadcast_windows_like_display_off() -> None:
    """The board calls its screen frozen five readings after it froze; the
    rule counts broadcast hours only, and no ticket (the rule has none)."""
    p = DEMO_PROFILE
    inside = OUTCOMES["screen-frozen"](Recorder(), p, IN_WINDOW)
    assert [e.key for e in inside.expectations] == ["incident", "notice", "resolved"]
    incident = inside.expected("incident")
    frozen = p.fault_at_s + 5 * p.readings_s
    assert incident.by_s == frozen + p.fault_hold_s + p.telemetry_every_s + p.slack_s
    assert (
        incident.by_s > OUTCOMES["display-off"](Recorder(), p, IN_WINDOW).expected("incident").by_s
    )
    assert "lc-tam-duong-01" in incident.en
    assert "no picture" in incident.en
    assert inside.boards == ("lc-tam-duong-01",)
    outside = OUTCOMES["screen-frozen"](Recorder(), p, OUT_OF_WINDOW)
    assert [e.key for e in outside.expectations] == ["none"]
    assert "a frozen screen is no fault then" in outside.expectations[0].en
    # started 06:27:30 it is frozen from 06:29, before the window opens
    opening = OUTCOMES["screen-frozen"](
        Recorder(), p, datetime(2026, 12, 6, 23, 27, 30, tzinfo=UTC)
    )
    assert "once the broadcast window opens at 06:30" in opening.expected("incident").en
    # frozen from 09:29, the window closes at 09:30 before the repair at 09:30:30
    closing = OUTCOMES["screen-frozen"](Recorder(), p, datetime(2026, 12, 7, 2, 27, 30, tzinfo=UTC))
    assert "broadcast window ends" in closing.expected("resolved").en
    # frozen from 09:29:30: on air less than the hold
    late = OUTCOMES["screen-frozen"](Recorder(), p, datetime(2026, 12, 7, 2, 28, tzinfo=UTC))
    assert "frozen less than 30 s inside a broadcast window" in late.expectations[0].en


def test_camera_covered_notifies_the_border_guard_without_a_ticket() -> None:
    outcome = OUTCOMES["camera-covered"](Recorder(), DEMO_PROFILE, OUT_OF_WINDOW)
    assert outcome.site == "u-ma-tu-khoong"
    assert outcome.boards == ("lc-u-ma-tu-khoong-01",)
    assert [e.key for e in outcome.expectations] == ["incident", "notice", "resolved"]
    assert "the Border Guard's duty desk" in outcome.expected("notice").en
    assert "Bộ đội Biên phòng" in outcome.expected("notice").vi
    # the same times as camera-failure's, which it mirrors (cameras know no windows)
    failure = OUTCOMES["camera-failure"](Recorder(), DEMO_PROFILE, OUT_OF_WINDOW)
    for key in ("incident", "notice", "resolved"):
        assert outcome.expected(key).by_s == failure.expected(key).by_s


def test_clock_reads_minutes_and_seconds() -> None:
    assert clock(0) == "00:00"
    assert clock(125.2) == "02:06"


def test_multiplexed_boards_continue_their_boot_after_a_clean_stop(tmp_path: Path) -> None:
    path = tmp_path / "sessions.json"
    specs = [b for _, b in fleet_specs(2)]
    resume_sessions(path, specs)
    assert [(s.boot, s.seq) for s in specs] == [(1, 0), (1, 0)]
    fleet = Fleet(specs, "127.0.0.1", 1)
    for board in fleet.boards.values():
        board.seq = 41
    record_sessions(path, fleet)
    again = [b for _, b in fleet_specs(2)]
    resume_sessions(path, again)
    assert [(s.boot, s.seq) for s in again] == [(1, 42), (1, 42)]
    # Killed without a clean stop: the next start is a new boot.
    killed = [b for _, b in fleet_specs(2)]
    resume_sessions(path, killed)
    assert [(s.boot, s.seq) for s in killed] == [(2, 0), (2, 0)]


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"lc-ma-lu-thang-01": 4}'])
def test_an_old_or_broken_sessions_file_starts_new_boots(tmp_path: Path, content: str) -> None:
    path = tmp_path / "sessions.json"
    path.write_text(content)
    specs = [b for _, b in fleet_specs(1)]
    resume_sessions(path, specs)
    expected = 5 if content.startswith("{") else 1  # an older demo's {board: boot}
    assert specs[0].boot == expected
    assert json.loads(path.read_text())["lc-ma-lu-thang-01"]["clean"] == 0


def test_a_profile_keeps_agent_intervals_sane() -> None:
    tiny = DemoProfile().scaled(0.001)
    assert min(tiny.intervals().values()) == 0.5
