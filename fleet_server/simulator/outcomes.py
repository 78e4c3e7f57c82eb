"""What each scenario makes the platform do, and by when, under a demo
profile: printed when the demo starts, listed in the README, checked by the
tests (tests/server/simulator/test_demo_outcome.py).

Every "by" time is an upper bound counted from the boards' start: the
profile's durations plus its ``slack_s``. A scenario is over — fault,
outcome, recovery — by its ``duration_s``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from fleet_server.engine import telemetry_rules
from fleet_server.localtime import LOCAL_TZ
from fleet_server.simulator.places import DEFAULT_WINDOWS
from fleet_server.simulator.profile import DemoProfile
from fleet_server.simulator.scenarios import PLACE_NAMES, Fleet, _first_site, _site_boards


@dataclass(frozen=True, slots=True)
class Expectation:
    """One thing the user will see, by ``by_s`` seconds after the start."""

    key: str  # what the tests check: site_incident, ticket, notice, incident, resolved
    by_s: float
    vi: str
    en: str


@dataclass(frozen=True, slots=True)
class Outcome:
    scenario: str
    expectations: tuple[Expectation, ...]
    duration_s: float
    #: where it happens: a site code and the boards concerned
    site: str | None = None
    boards: tuple[str, ...] = ()

    def expected(self, key: str) -> Expectation:
        for e in self.expectations:
            if e.key == key:
                return e
        raise KeyError(f"{self.scenario} forecasts no {key!r}")

    def lines(self) -> list[str]:
        """The printed forecast, soonest first."""
        out = [f"{self.scenario}: điều sẽ thấy / what you will see"]
        for e in sorted(self.expectations, key=lambda e: e.by_s):
            out.append(f"  trước / by {clock(e.by_s)}  {e.vi} / {e.en}")
        out.append(
            f"  kịch bản xong trước / scenario over by {clock(self.duration_s)}"
            f" (--duration {math.ceil(self.duration_s)})"
        )
        return out


#: What the incident page shows of a screen or camera incident of a simulated
#: board: no picture (its ``screenshot`` answers that it takes none).
PICTURE_NOTE = (
    " (không có ảnh: bảng mô phỏng không có màn hình, camera thật)",
    " (no picture: a simulated board has no real screen or camera)",
)

#: battery_low opens below this charge (engine/telemetry_rules.py)
BATTERY_LOW_PERCENT = float(telemetry_rules.DEFAULTS["battery_low"]["open_below"])


def clock(seconds: float) -> str:
    whole = math.ceil(seconds)
    return f"{whole // 60:02d}:{whole % 60:02d}"


def _round_up(seconds: float, step: float = 30.0) -> float:
    return math.ceil(seconds / step) * step


def _site_and_boards(fleet: Fleet, prefer: str) -> tuple[str, tuple[str, ...]]:
    site = _first_site(fleet, prefer)
    return site, tuple(b.device_id for b in _site_boards(fleet, site))


def _notice(p: DemoProfile, at: float, where: str) -> Expectation:
    return Expectation(
        "notice",
        at + p.notify_group_s + p.slack_s,
        f"thông báo gửi trực ban, có tên {where}",
        f"notices to the duty contacts naming {where}",
    )


def site_power_cut(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    site, boards = _site_and_boards(fleet, "ma-lu-thang")
    name = PLACE_NAMES.get(site, site)
    reading = p.fault_at_s + p.readings_s
    dead = p.fault_at_s + p.battery_runtime_s
    back = p.power_back_s + p.clear_s + p.telemetry_every_s + 2 * p.slack_s
    whole_site = len(boards) >= 2
    first = Expectation(
        "site_incident" if whole_site else "incident",
        dead + p.slack_s,
        (
            f"sự cố toàn điểm (mất điện lưới) tại {name}, gồm {len(boards)} sự cố của từng bảng"
            if whole_site
            else f"sự cố mất kết nối bảng {boards[0]} tại {name}"
        ),
        (
            f"one site incident (power) at {name} holding its {len(boards)} board incidents"
            if whole_site
            else f"a board-lost incident for {boards[0]} at {name}"
        ),
    )
    return Outcome(
        "site-power-cut",
        (
            Expectation(
                "incident",
                reading + p.mains_hold_s + p.telemetry_every_s + p.slack_s,
                f"sự cố mất điện lưới trên {len(boards)} bảng (chạy bằng UPS)",
                f"mains-lost incidents on {len(boards)} boards (running on UPS)",
            ),
            first,
            _notice(p, dead, name),
            Expectation(
                "battery",
                p.fault_at_s
                + (1 - BATTERY_LOW_PERCENT / 100) * p.battery_runtime_s
                + p.readings_s
                + p.telemetry_every_s
                + p.slack_s,
                f"sự cố pin UPS yếu (khẩn) trên {len(boards)} bảng trước khi tắt; tự đóng khi pin"
                " đã sạc lại sau khi có điện",
                f"UPS-battery-low incidents (critical) on {len(boards)} boards before they go"
                " down; they close once the batteries have recharged after the power is back",
            ),
            Expectation(
                "ticket",
                dead + p.ticket_after_s + p.telemetry_every_s + p.slack_s,
                f"phiếu bảo trì khẩn tự động cho {name}",
                f"an urgent ticket opened automatically for {name}",
            ),
            Expectation(
                "resolved",
                back,
                "có điện lại, các sự cố tự đóng; phiếu chờ kỹ thuật viên",
                "power back, the incidents resolve; the ticket waits for a technician",
            ),
        ),
        _round_up(back + p.slack_s),
        site,
        boards,
    )


def uplink_flap(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    site, boards = _site_and_boards(fleet, "muong-te")
    name = PLACE_NAMES.get(site, site)
    down = p.fault_at_s
    cycle = p.flap_down_s[1] + p.flap_up_s[1]
    last_up = down + p.flaps * cycle - p.flap_up_s[1]
    whole_site = len(boards) >= 2
    return Outcome(
        "uplink-flap",
        (
            Expectation(
                "site_incident" if whole_site else "incident",
                down + p.slack_s,
                f"sự cố toàn điểm (mất đường truyền) tại {name}, giữ mở qua các lần chập chờn"
                if whole_site
                else f"sự cố mất kết nối tại {name}",
                f"one site incident (uplink) at {name}, kept open through the flaps"
                if whole_site
                else f"a board-lost incident at {name}",
            ),
            _notice(p, down, name),
            Expectation(
                "ticket",
                down + p.ticket_after_s + p.telemetry_every_s + p.slack_s,
                f"phiếu bảo trì khẩn cho {name}",
                f"an urgent ticket for {name}",
            ),
            Expectation(
                "flapping",
                last_up + p.slack_s,
                "sự cố được đánh dấu chập chờn (một sự cố, không phải ba)",
                "the incident marked flapping (one incident, not three)",
            ),
            Expectation(
                "degraded",
                last_up + 2 * p.fault_hold_s + p.network_s + p.telemetry_every_s + p.slack_s,
                f"sự cố đường truyền kém (nhẹ) trên {len(boards)} bảng: tỷ lệ mất gói trung bình"
                " 10 phút cao; còn mở sau kịch bản tới khi trung bình đó hạ (khoảng 15 phút)",
                f"network-degraded incidents (minor) on {len(boards)} boards: the 10-minute"
                " average loss is high; they stay open after the scenario until it falls"
                " (about 15 min)",
            ),
            Expectation(
                "resolved",
                last_up + p.flap_window_s + 2 * p.slack_s,
                "đường truyền ổn định lại, sự cố tự đóng",
                "the uplink stays up, the incident resolves",
            ),
        ),
        _round_up(last_up + p.flap_window_s + 3 * p.slack_s),
        site,
        boards,
    )


def _board_fault(
    scenario: str,
    prefer: str,
    what: tuple[str, str],
    *,
    hold_s: Callable[[DemoProfile], float],
    ticket: bool,
    notice: tuple[str, str] | None = None,
    picture: tuple[str, str] = ("", ""),
) -> Callable[[Fleet, DemoProfile, datetime], Outcome]:
    """``notice``: who the notice goes to, when one route is to be named;
    ``picture``: what the incident page shows of it, added to its line."""

    def outcome(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
        site, boards = _site_and_boards(fleet, prefer)
        board = boards[0]
        name = PLACE_NAMES.get(site, site)
        opened = p.fault_at_s + p.readings_s + hold_s(p) + p.telemetry_every_s
        expectations = [
            Expectation(
                "incident",
                opened + p.slack_s,
                f"{what[0]} — {board}{picture[0]}",
                f"{what[1]} — {board}{picture[1]}",
            ),
            _notice(p, opened, name)
            if notice is None
            else Expectation(
                "notice",
                opened + p.notify_group_s + p.slack_s,
                f"thông báo gửi {notice[0]}, có tên {name}",
                f"a notice to {notice[1]} naming {name}",
            ),
        ]
        if ticket:
            expectations.append(
                Expectation(
                    "ticket",
                    opened + p.ticket_after_s + p.telemetry_every_s + p.slack_s,
                    f"phiếu bảo trì tự động cho {board}",
                    f"a ticket opened automatically for {board}",
                )
            )
        repaired = (p.repair_at_s or 0) + p.readings_s + p.clear_s + p.telemetry_every_s
        expectations.append(
            Expectation(
                "resolved",
                repaired + 2 * p.slack_s,
                "sửa xong, sự cố tự đóng",
                "repaired, the incident resolves",
            )
        )
        return Outcome(
            scenario,
            tuple(expectations),
            _round_up(repaired + 3 * p.slack_s),
            site,
            (board,),
        )

    return outcome


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
    site, boards = _site_and_boards(fleet, fault.prefer)
    board = boards[0]
    name = PLACE_NAMES.get(site, site)
    windows = ", ".join(f"{s}–{e}" for _, s, e in DEFAULT_WINDOWS)
    state_vi, state_en = fault.state
    see = "sự cố và phiếu" if fault.rule in p.auto_ticket_delays() else "sự cố"
    bad_from = p.fault_at_s + fault.shows_after(p)
    bad_to = p.repair_at_s or math.inf
    duration = _round_up(
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
        _notice(p, opened, name),
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
        max(duration, _round_up(cleared + 3 * p.slack_s)),
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


def stuck_agent(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    site, boards = _site_and_boards(fleet, "sin-ho")
    board = boards[0]
    stale = p.fault_at_s + 3 * p.heartbeat_s
    thawed = (p.repair_at_s or 0) + p.heartbeat_s + p.clear_s
    return Outcome(
        "stuck-agent",
        (
            Expectation(
                "incident",
                stale + p.slack_s,
                f"sự cố bảng {board} ngừng gửi nhịp tim (vẫn kết nối)",
                f"a heartbeat-overdue incident for {board} (still connected)",
            ),
            _notice(p, stale + p.confirm_board_s, PLACE_NAMES.get(site, site)),
            Expectation(
                "resolved",
                thawed + 2 * p.slack_s,
                "agent chạy lại, sự cố tự đóng",
                "the agent runs again, the incident resolves",
            ),
        ),
        _round_up(thawed + 3 * p.slack_s),
        site,
        (board,),
    )


def normal(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    return Outcome(
        "normal",
        (
            Expectation(
                "none",
                p.slack_s + p.heartbeat_s,
                "mọi bảng trực tuyến; biểu đồ, độ sẵn sàng và tuân thủ có 7 ngày lịch sử"
                " (một sự cố tuân thủ cho ngày có màn hình tắt cả buổi sáng)",
                "every board online; charts, availability and compliance show 7 days of history"
                " (a compliance incident for the day a screen was dark all morning)",
            ),
        ),
        _round_up(p.slack_s + p.heartbeat_s),
    )


OUTCOMES: dict[str, Callable[[Fleet, DemoProfile, datetime], Outcome]] = {
    "normal": normal,
    "site-power-cut": site_power_cut,
    "uplink-flap": uplink_flap,
    "camera-failure": _board_fault(
        "camera-failure",
        "ma-lu-thang",
        ("sự cố camera không trả lời", "a camera-unreachable incident"),
        hold_s=lambda p: p.fault_hold_s,
        ticket=True,
    ),
    "display-off": display_off,
    "screen-frozen": screen_frozen,
    "camera-covered": _board_fault(
        "camera-covered",
        "u-ma-tu-khoong",
        (
            "sự cố camera bị che ống kính (vẫn trả lời RTSP)",
            "a camera-covered incident (RTSP still answers)",
        ),
        hold_s=lambda p: p.fault_hold_s,
        ticket=False,
        notice=("trực ban Bộ đội Biên phòng", "the Border Guard's duty desk"),
        picture=PICTURE_NOTE,
    ),
    "unapproved-content": _board_fault(
        "unapproved-content",
        "tp-lai-chau",
        (
            "sự cố an toàn thông tin khẩn: nội dung chưa duyệt đang phát",
            "a critical security incident: unapproved content on screen",
        ),
        hold_s=lambda p: 0.0,
        ticket=False,
    ),
    "stuck-agent": stuck_agent,
}


def forecast(
    scenario: str, fleet: Fleet, profile: DemoProfile, now: datetime | None = None
) -> Outcome:
    return OUTCOMES[scenario](fleet, profile, now or datetime.now(UTC))
