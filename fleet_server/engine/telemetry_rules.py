"""Rules on what boards measure (domain logic). Each returns observations:
(key suffix, observed or None when the data cannot tell, details). Value
hysteresis: a condition that is active is judged by its *clear* threshold,
one that is not by its *open* threshold, so a reading hovering at the limit
does not flap."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fleet_server.engine.conditions import Timing
from fleet_server.incidents.schemas import IncidentSpec

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

#: Defaults of every telemetry rule (docs/engine.md); overridable per site and
#: per board through rule_overrides.params.
DEFAULTS: dict[str, dict[str, Any]] = {
    "mains_lost": {"for_s": 60, "clear_for_s": 120, "severity": "major"},
    "battery_low": {
        "open_below": 30,
        "clear_above": 40,
        "for_s": 0,
        "clear_for_s": 120,
        "severity": "critical",
    },
    "network_degraded": {
        "loss_open": 20,
        "loss_clear": 10,
        "rtt_open_ms": 1500,
        "rtt_clear_ms": 1000,
        "window_s": 600,
        "for_s": 300,
        "clear_for_s": 600,
        "severity": "minor",
    },
    "camera_unreachable": {"for_s": 300, "clear_for_s": 120, "severity": "major"},
    "display_dark": {"for_s": 300, "clear_for_s": 120, "severity": "major"},
    "clock_skew": {"max_skew_s": 300, "for_s": 300, "clear_for_s": 300, "severity": "minor"},
    "disk_full": {
        "open_above": 90,
        "clear_below": 85,
        "for_s": 600,
        "clear_for_s": 600,
        "severity": "minor",
    },
    "overheating": {
        "open_above": 75,
        "clear_below": 70,
        "for_s": 300,
        "clear_for_s": 300,
        "severity": "major",
    },
    "agent_restarting": {"boots_per_hour": 3, "for_s": 0, "clear_for_s": 3600, "severity": "minor"},
    "spool_dropping": {"for_s": 0, "clear_for_s": 3600, "severity": "warning"},
    "spool_degraded": {"for_s": 120, "clear_for_s": 300, "severity": "major"},
    "content_unapproved": {"for_s": 0, "clear_for_s": 60, "severity": "critical"},
}

TITLES: dict[str, tuple[str, str]] = {
    "mains_lost": ("Mất điện lưới, bảng chạy bằng UPS", "Mains lost, running on UPS"),
    "battery_low": ("Pin UPS yếu", "UPS battery low"),
    "network_degraded": ("Đường truyền kém (mất gói/trễ cao)", "Network degraded (loss/RTT)"),
    "camera_unreachable": ("Camera không trả lời", "Camera unreachable"),
    "display_dark": ("Màn hình tắt trong khung giờ phát", "Display dark during broadcast hours"),
    "clock_skew": ("Đồng hồ bảng lệch quá 5 phút", "Board clock off by more than 5 minutes"),
    "disk_full": ("Bộ nhớ gần đầy", "Disk nearly full"),
    "overheating": ("Bộ điều khiển quá nhiệt", "Controller overheating"),
    "agent_restarting": ("Agent khởi động lại liên tục", "Agent restarting repeatedly"),
    "spool_dropping": ("Bộ đệm agent bỏ bớt dữ liệu", "Agent spool dropping data"),
    "spool_degraded": (
        "Bộ đệm agent không ghi được đĩa (đầy hoặc hỏng)",
        "Agent spool cannot write its disk (full or failing)",
    ),
    "content_unapproved": ("Nội dung chưa được duyệt đang phát", "Unapproved content on screen"),
}


def content_check(
    display: dict[str, Any], approved: dict[str, tuple[datetime, datetime | None]], now: datetime
) -> tuple[bool | None, dict[str, Any]]:
    """Is the board showing content that is not approved (or not now)?"""
    sha = display.get("content_sha256")
    if not sha:
        return None, {}
    details = {
        "sha256": sha,
        "content_id": display.get("content_id"),
        "started_at": display.get("content_started_at"),
    }
    validity = approved.get(sha)
    if validity is None:
        return True, {**details, "why": "not in the approved registry"}
    valid_from, valid_to = validity
    if now < valid_from or (valid_to is not None and now >= valid_to):
        return True, {**details, "why": "outside its approved validity"}
    return False, details


Observation = tuple[str, bool | None, dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Reading:
    """A board's latest reading of a kind (a ``board_latest`` row).
    ``measured_at`` is what the board's clock said; ``observed_at`` is the
    server's reckoning of when it was measured: received_at less the time the
    board held it (sent_at - measured_at, board clock against board clock)."""

    data: dict[str, Any]
    measured_at: datetime
    received_at: datetime
    observed_at: datetime

    @property
    def clock_offset_s(self) -> float:
        """How far the board's clock is behind the server's (negative: ahead).
        For a message sent after it was measured, observed_at - measured_at
        is exactly received_at - sent_at."""
        return (self.observed_at - self.measured_at).total_seconds()


@dataclass
class BoardInputs:
    """Everything the telemetry rules look at for one board."""

    latest: dict[str, Reading] = field(default_factory=dict)
    loss_avg: float | None = None
    rtt_avg: float | None = None
    boots_last_hour: int = 0
    dropped_last_hour: int = 0
    windows: list[tuple[time, time]] = field(default_factory=list)


def is_fresh(reading: Reading | None, now: datetime, max_age_s: float) -> bool:
    """Measured recently by the server's clock (observed_at), not merely
    received recently: readings replayed from a spool after an outage
    describe the past. The board's own clock — behind, ahead or stepped —
    has no say in it."""
    return reading is not None and (now - reading.observed_at).total_seconds() <= max_age_s


def _above(value: float | None, active: bool, open_at: float, clear_at: float) -> bool | None:
    if value is None:
        return None
    return value > clear_at if active else value > open_at


def _below(value: float | None, active: bool, open_at: float, clear_at: float) -> bool | None:
    if value is None:
        return None
    return value < clear_at if active else value < open_at


def in_broadcast_window(windows: list[tuple[time, time]], now: datetime) -> bool:
    local = now.astimezone(LOCAL).time()
    return any(start <= local < end for start, end in windows)


def evaluate(
    inputs: BoardInputs,
    params: dict[str, dict[str, Any]],
    active: set[str],
    now: datetime,
    freshness_s: float,
) -> list[tuple[str, Observation]]:
    """(rule, observation) for every rule on one board. ``active`` holds the
    key suffixes (rule or rule:camera) whose condition is active now."""
    out: list[tuple[str, Observation]] = []
    power = inputs.latest.get("power")
    heartbeat = inputs.latest.get("heartbeat")
    display = inputs.latest.get("display")
    camera = inputs.latest.get("camera")
    power_ok = is_fresh(power, now, freshness_s)
    hb_ok = is_fresh(heartbeat, now, freshness_s)

    mains = power.data.get("mains_present") if power and power_ok else None
    out.append(
        (
            "mains_lost",
            ("mains_lost", None if mains is None else mains is False, {"mains_present": mains}),
        )
    )
    p = params["battery_low"]
    battery = power.data.get("battery_percent") if power and power_ok else None
    low = _below(battery, "battery_low" in active, p["open_below"], p["clear_above"])
    if power and power_ok and power.data.get("low_battery"):
        low = True
    out.append(("battery_low", ("battery_low", low, {"battery_percent": battery})))

    p = params["network_degraded"]
    lossy = _above(inputs.loss_avg, "network_degraded" in active, p["loss_open"], p["loss_clear"])
    slow = _above(inputs.rtt_avg, "network_degraded" in active, p["rtt_open_ms"], p["rtt_clear_ms"])
    degraded = None if lossy is None and slow is None else bool(lossy or slow)
    out.append(
        (
            "network_degraded",
            (
                "network_degraded",
                degraded,
                {"loss_avg": inputs.loss_avg, "rtt_avg": inputs.rtt_avg},
            ),
        )
    )

    if camera and is_fresh(camera, now, freshness_s):
        for cam in camera.data.get("cameras", []):
            failing = cam.get("status") not in ("ok", "unauthorized")
            out.append(
                (
                    "camera_unreachable",
                    (
                        f"camera_unreachable:{cam['camera_id']}",
                        failing,
                        {
                            "camera_id": cam["camera_id"],
                            "status": cam.get("status"),
                            "error": cam.get("error"),
                        },
                    ),
                )
            )

    if display and is_fresh(display, now, freshness_s):
        dark = display.data.get("screen_on") is False or not display.data.get("player_running")
        inside = in_broadcast_window(inputs.windows, now)
        out.append(
            (
                "display_dark",
                (
                    "display_dark",
                    dark and inside,
                    {
                        "screen_on": display.data.get("screen_on"),
                        "player_running": display.data.get("player_running"),
                    },
                ),
            )
        )

    if heartbeat and hb_ok:
        # received_at - sent_at of a current heartbeat: the board's clock
        # against the server's, whether it runs behind or ahead
        skew = heartbeat.clock_offset_s
        out.append(
            (
                "clock_skew",
                (
                    "clock_skew",
                    abs(skew) > params["clock_skew"]["max_skew_s"],
                    {"skew_s": round(skew)},
                ),
            )
        )
        p = params["disk_full"]
        out.append(
            (
                "disk_full",
                (
                    "disk_full",
                    _above(
                        heartbeat.data.get("disk_percent"),
                        "disk_full" in active,
                        p["open_above"],
                        p["clear_below"],
                    ),
                    {"disk_percent": heartbeat.data.get("disk_percent")},
                ),
            )
        )
        # The board cannot keep what it measures on disk: an outage now would
        # cost data (it holds at most a few minutes in memory).
        out.append(
            (
                "spool_degraded",
                (
                    "spool_degraded",
                    bool(heartbeat.data.get("spool_degraded", False)),
                    {
                        "disk_percent": heartbeat.data.get("disk_percent"),
                        "spool_pending": heartbeat.data.get("spool_pending"),
                    },
                ),
            )
        )
        p = params["overheating"]
        out.append(
            (
                "overheating",
                (
                    "overheating",
                    _above(
                        heartbeat.data.get("temperature_c"),
                        "overheating" in active,
                        p["open_above"],
                        p["clear_below"],
                    ),
                    {"temperature_c": heartbeat.data.get("temperature_c")},
                ),
            )
        )
    out.append(
        (
            "agent_restarting",
            (
                "agent_restarting",
                inputs.boots_last_hour >= params["agent_restarting"]["boots_per_hour"],
                {"boots": inputs.boots_last_hour},
            ),
        )
    )
    out.append(
        (
            "spool_dropping",
            ("spool_dropping", inputs.dropped_last_hour > 0, {"dropped": inputs.dropped_last_hour}),
        )
    )
    return out


def merged_params(overrides: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Defaults, then the site's override, then the board's."""
    params = {rule: dict(values) for rule, values in DEFAULTS.items()}
    for override in overrides:
        for rule, values in override.items():
            if rule in params:
                params[rule].update(values)
    return params


def incident_for(
    rule: str,
    suffix: str,
    board_id: str,
    *,
    place: tuple[int, int],
    params: dict[str, Any],
    details: dict[str, Any],
) -> tuple[IncidentSpec, Timing]:
    """The incident a telemetry rule opens on a board, and its timing."""
    vi, en = TITLES[rule]
    spec = IncidentSpec(
        dedupe_key=f"board:{board_id}:{suffix}",
        rule=rule,
        incident_class="security" if rule == "content_unapproved" else "technical",
        severity=params["severity"],
        title=f"{vi} — {board_id} / {en}",
        board_id=board_id,
        site_id=place[0],
        organisation_id=place[1],
        details=details,
    )
    return spec, Timing(for_s=params["for_s"], clear_for_s=params["clear_for_s"])
