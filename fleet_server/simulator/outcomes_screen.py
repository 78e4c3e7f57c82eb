"""Forecasts of the screen faults the rules count in broadcast hours only
(Điều 8.1): a dark or frozen screen is a fault inside a broadcast window and
none outside, so what a run shows depends on the hour it starts
(simulator/outcomes.py lists them with the other scenarios)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from fleet_server.localtime import LOCAL_TZ
from fleet_server.simulator.outcome_model import (
    PICTURE_NOTE,
    Expectation,
    Outcome,
    notice_of,
    round_up,
    site_and_boards,
)
from fleet_server.simulator.places import DEFAULT_WINDOWS
from fleet_server.simulator.profile import DemoProfile
from fleet_server.simulator.scenarios import PLACE_NAMES, Fleet


def in_broadcast_window(at: datetime) -> bool:
    local = at.astimezone(LOCAL_TZ).time()
    return any(
        time.fromisoformat(s) <= local < time.fromisoformat(e) for _, s, e in DEFAULT_WINDOWS
    )


def _on_air(
    now: datetime, start_s: float, end_s: float, hold_s: float
) -> tuple[float, float] | None:
    """When a screen dark from ``start_s`` to ``end_s`` (seconds from
    ``now``) is dark on air: (the first moment, at most 5 s late, from which
    it stays inside a broadcast window ``hold_s`` long; the moment it leaves
    the window or ``end_s``), or None if it never is that long."""
    step = 5.0
    at = start_s
    while at + hold_s <= end_s:
        if in_broadcast_window(now + timedelta(seconds=at)) and in_broadcast_window(
            now + timedelta(seconds=at + hold_s)
        ):
            until = at + hold_s
            while until < end_s and in_broadcast_window(now + timedelta(seconds=until)):
                until = min(end_s, until + step)
            return at, until
        at += step
    return None


def _touches_window(now: datetime, start_s: float, end_s: float) -> bool:
    """Whether any moment (5 s apart) from ``start_s`` to ``end_s`` is in a window."""
    at = start_s
    while at <= end_s:
        if in_broadcast_window(now + timedelta(seconds=at)):
            return True
        at += 5.0
    return in_broadcast_window(now + timedelta(seconds=end_s))


@dataclass(frozen=True, slots=True)
class _ScreenFault:
    """A screen fault the rules count in broadcast hours only (Điều 8.1)."""

    scenario: str
    prefer: str
    rule: str
    #: the screen's state in words: "tắt" / "dark"
    state: tuple[str, str]
    #: the incident in words
    what: tuple[str, str]
    #: seconds from the fault until the board's readings say so
    shows_after: Callable[[DemoProfile], float]
    #: added to the incident's line: what the incident page shows of it
    picture: tuple[str, str] = ("", "")


def _screen_fault(
    fault: _ScreenFault,
) -> Callable[[Fleet, DemoProfile, datetime], Outcome]:
    def outcome(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
        return _on_air_outcome(fault, fleet, p, now)

    return outcome


def _on_air_outcome(fault: _ScreenFault, fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    """Outside the windows a dark or frozen screen is no fault, and the
    forecast says so. A window that opens while the screen is at fault (a
    run started just before 06:30) opens the incident then, later than
    within a window; one that closes resolves it."""
    site, boards = site_and_boards(fleet, fault.prefer)
    board = boards[0]
    name = PLACE_NAMES.get(site, site)
    windows = ", ".join(f"{s}–{e}" for _, s, e in DEFAULT_WINDOWS)
    state_vi, state_en = fault.state
    see = "sự cố và phiếu" if fault.rule in p.auto_ticket_delays() else "sự cố"
    bad_from = p.fault_at_s + fault.shows_after(p)
    bad_to = p.repair_at_s or math.inf
    duration = round_up(
        (p.repair_at_s or 0) + p.readings_s + p.clear_s + p.telemetry_every_s + 3 * p.slack_s
    )
    bad_until = min(bad_to, bad_from + 24 * 3600)
    on_air = _on_air(now, bad_from, bad_until, p.fault_hold_s)
    if on_air is None:
        local = now.astimezone(LOCAL_TZ)
        if _touches_window(now, bad_from, bad_until):
            # at fault inside a window, but not for the hold (started at 09:29,
            # the window closes first): not "outside the windows"
            hold = f"{p.fault_hold_s:g} s"
            vi = (
                f"không có sự cố: màn hình {state_vi} chưa tới {hold} trong khung giờ phát"
                f" ({windows}); chạy lại trong khung giờ để thấy {see}"
            )
            en = (
                f"no incident: the screen is {state_en} less than {hold} inside a broadcast"
                f" window ({windows}); run it inside a window to see the incident"
            )
        else:
            vi = (
                f"không có sự cố: {local:%H:%M} ngoài khung giờ phát ({windows}), màn hình"
                f" {state_vi} không phải lỗi; chạy lại trong khung giờ để thấy {see}"
            )
            en = (
                f"no incident: {local:%H:%M} is outside the broadcast windows ({windows}), a"
                f" {state_en} screen is no fault then; run it inside a window to see the incident"
            )
        return Outcome(
            fault.scenario,
            (Expectation("none", bad_from + p.slack_s, vi, en),),
            duration,
            site,
            (board,),
        )
    on_air_from, on_air_to = on_air
    opened = on_air_from + p.fault_hold_s + p.telemetry_every_s
    what_vi, what_en = fault.what
    if on_air_from > bad_from:  # the window opens while the screen is at fault
        opens = (now + timedelta(seconds=on_air_from)).astimezone(LOCAL_TZ)
        what_vi += f" (khung giờ phát bắt đầu lúc {opens:%H:%M})"
        what_en += f" (once the broadcast window opens at {opens:%H:%M})"
    expectations = [
        Expectation(
            "incident",
            opened + p.slack_s,
            f"{what_vi} — {board}{fault.picture[0]}",
            f"{what_en} — {board}{fault.picture[1]}",
        ),
        notice_of(p, opened, name),
    ]
    # the incident stays open until the screen is right again or the window closes
    cleared = on_air_to + p.readings_s + p.clear_s + p.telemetry_every_s
    delay = p.auto_ticket_delays().get(fault.rule)
    # a ticket if the rule has one and the incident is still open when it is
    # due (the last bad reading comes up to one reading after the repair)
    if delay is not None:
        ticket = opened + delay + p.telemetry_every_s
        if ticket < on_air_to + p.readings_s + p.clear_s:
            expectations.append(
                Expectation(
                    "ticket",
                    ticket + p.slack_s,
                    f"phiếu bảo trì tự động cho {board}",
                    f"a ticket opened automatically for {board}",
                )
            )
    closes = on_air_to < bad_to
    expectations.append(
        Expectation(
            "resolved",
            cleared + 2 * p.slack_s,
            "khung giờ phát kết thúc, sự cố tự đóng" if closes else "sửa xong, sự cố tự đóng",
            "the broadcast window ends, the incident resolves"
            if closes
            else "repaired, the incident resolves",
        )
    )
    return Outcome(
        fault.scenario,
        tuple(expectations),
        max(duration, round_up(cleared + 3 * p.slack_s)),
        site,
        (board,),
    )


#: A simulated screen or camera that keeps one picture is judged frozen at
#: this many readings in a row (edge_agent/collectors/display.py, camera.py).
SIMULATED_FROZEN_AFTER = 5

#: The screen goes dark at fault_at_s; the board says so by one reading later.
display_off = _screen_fault(
    _ScreenFault(
        "display-off",
        "phong-tho",
        "display_dark",
        ("tắt", "dark"),
        ("sự cố màn hình tắt trong khung giờ phát", "a display-dark incident"),
        lambda p: p.readings_s,
    )
)

#: The screen freezes at fault_at_s; its first frozen reading comes by one
#: reading later, the board calls it frozen SIMULATED_FROZEN_AFTER readings on.
screen_frozen = _screen_fault(
    _ScreenFault(
        "screen-frozen",
        "tam-duong",
        "screen_frozen",
        ("đứng hình", "frozen"),
        (
            "sự cố màn hình đứng hình trong khung giờ phát (trình phát vẫn chạy)",
            "a screen-frozen incident (the player still runs)",
        ),
        lambda p: SIMULATED_FROZEN_AFTER * p.readings_s,
        PICTURE_NOTE,
    )
)
