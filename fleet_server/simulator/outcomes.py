"""What each scenario makes the platform do, and by when, under a demo
profile: printed when the demo starts, listed in the README, checked by the
tests (tests/server/simulator/test_demo_outcome.py).

Every "by" time is an upper bound counted from the boards' start: the
profile's durations plus its ``slack_s``. A scenario is over — fault,
outcome, recovery — by its ``duration_s``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fleet_server.engine import telemetry_rules
from fleet_server.simulator.outcome_model import (
    PICTURE_NOTE,
    Expectation,
    Outcome,
    notice_of,
    round_up,
    site_and_boards,
)
from fleet_server.simulator.outcomes_screen import display_off, screen_frozen
from fleet_server.simulator.profile import DemoProfile
from fleet_server.simulator.scenarios import PLACE_NAMES, Fleet

#: battery_low opens below this charge (engine/telemetry_rules.py)
BATTERY_LOW_PERCENT = float(telemetry_rules.DEFAULTS["battery_low"]["open_below"])


def site_power_cut(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    site, boards = site_and_boards(fleet, "ma-lu-thang")
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
            notice_of(p, dead, name),
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
        round_up(back + p.slack_s),
        site,
        boards,
    )


def uplink_flap(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    site, boards = site_and_boards(fleet, "muong-te")
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
            notice_of(p, down, name),
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
        round_up(last_up + p.flap_window_s + 3 * p.slack_s),
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
        site, boards = site_and_boards(fleet, prefer)
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
            notice_of(p, opened, name)
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
            round_up(repaired + 3 * p.slack_s),
            site,
            (board,),
        )

    return outcome


def stuck_agent(fleet: Fleet, p: DemoProfile, now: datetime) -> Outcome:
    site, boards = site_and_boards(fleet, "sin-ho")
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
            notice_of(p, stale + p.confirm_board_s, PLACE_NAMES.get(site, site)),
            Expectation(
                "resolved",
                thawed + 2 * p.slack_s,
                "agent chạy lại, sự cố tự đóng",
                "the agent runs again, the incident resolves",
            ),
        ),
        round_up(thawed + 3 * p.slack_s),
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
        round_up(p.slack_s + p.heartbeat_s),
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
