"""Rules on what boards measure (domain logic): a table of small typed
functions, one per rule (``RULES``), each reading a board's latest readings
as the protocol's models and returning :class:`Observation`\\ s — observed,
or None when the data cannot tell. Value hysteresis: a condition that is
active is judged by its *clear* threshold, one that is not by its *open*
threshold, so a reading hovering at the limit does not flap.

Longer than 400 lines: the rule catalogue — every telemetry rule, its
defaults (``DEFAULTS``) and the table that names them (``RULES``) side by
side, so a rule and its thresholds are read and reviewed in one place."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

import fleet_protocol as fp
from fleet_server.datausage.models import Judgement
from fleet_server.engine.conditions import Timing
from fleet_server.engine.keys import DedupeKey
from fleet_server.incidents.models import IncidentSpec
from fleet_server.incidents.titles import titled
from fleet_server.localtime import LOCAL_TZ

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
    # Screen and camera proof (issue 18): the board judges its own pictures
    # (edge_agent.proof); these hold its verdicts for a while.
    "screen_black": {"for_s": 300, "clear_for_s": 120, "severity": "major"},
    "screen_frozen": {"for_s": 300, "clear_for_s": 120, "severity": "major"},
    "screen_wrong_content": {"for_s": 120, "clear_for_s": 120, "severity": "major"},
    "camera_black": {"for_s": 300, "clear_for_s": 600, "severity": "major"},
    "camera_frozen": {"for_s": 300, "clear_for_s": 600, "severity": "major"},
    "camera_covered": {"for_s": 300, "clear_for_s": 600, "severity": "major"},
    "camera_moved": {"for_s": 300, "clear_for_s": 600, "severity": "major"},
    # QCVN 135:2024 camera checks a board can make: findings, not faults
    "camera_default_credentials": {"for_s": 0, "clear_for_s": 0, "severity": "major"},
    "camera_firmware_unknown": {"for_s": 0, "clear_for_s": 0, "severity": "minor"},
    # The 4G data budget (docs/data-budget.md): a forecast over the budget
    # opens a warning before it runs out; it clears below clear_percent.
    "data_budget_forecast": {
        "clear_percent": 95,
        "for_s": 0,
        "clear_for_s": 0,
        "severity": "warning",
    },
    "data_budget_spent": {"for_s": 0, "clear_for_s": 0, "severity": "minor"},
}

#: Rules on a camera's picture: one condition per camera, named in the title.
PICTURE_RULES = ("camera_black", "camera_frozen", "camera_covered", "camera_moved")
#: QCVN 135:2024 findings (incident class ``compliance``), one per camera.
CAMERA_FINDINGS = ("camera_default_credentials", "camera_firmware_unknown")
#: Rules whose title names the camera.
_NAMED_CAMERA = frozenset((*PICTURE_RULES, *CAMERA_FINDINGS))


D = TypeVar("D", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Reading(Generic[D]):
    """A board's latest reading of a kind (a ``board_latest`` row), its data
    read back into the protocol's model of that kind. ``measured_at`` is what
    the board's clock said; ``observed_at`` is the server's reckoning of when
    it was measured: received_at less the time the board held it (sent_at -
    measured_at, board clock against board clock)."""

    data: D
    measured_at: datetime
    received_at: datetime
    observed_at: datetime

    @property
    def clock_offset_s(self) -> float:
        """How far the board's clock is behind the server's (negative: ahead).
        For a message sent after it was measured, observed_at - measured_at
        is exactly received_at - sent_at."""
        return (self.observed_at - self.measured_at).total_seconds()


#: The kinds of ``board_latest`` the rules read, and the model of each.
LATEST_MODELS: dict[str, type[BaseModel]] = {
    "heartbeat": fp.HeartbeatData,
    "power": fp.PowerData,
    "camera": fp.CameraData,
    "display": fp.DisplayData,
}


@dataclass
class BoardInputs:
    """Everything the telemetry rules look at for one board."""

    heartbeat: Reading[fp.HeartbeatData] | None = None
    power: Reading[fp.PowerData] | None = None
    camera: Reading[fp.CameraData] | None = None
    display: Reading[fp.DisplayData] | None = None
    loss_avg: float | None = None
    rtt_avg: float | None = None
    boots_last_hour: int = 0
    dropped_last_hour: int = 0
    windows: list[tuple[time, time]] = field(default_factory=list)
    #: the month's 4G data against the board's budget (None: no budget)
    data_budget: Judgement | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    """What one rule saw on one board: ``observed`` is None when the data
    cannot tell. ``subject`` names the camera for rules per camera."""

    rule: str
    observed: bool | None
    details: dict[str, Any]
    subject: str | None = None

    @property
    def suffix(self) -> str:
        """The condition's key after the board: ``rule`` or ``rule:subject``."""
        return self.rule if self.subject is None else f"{self.rule}:{self.subject}"


def content_check(
    display: fp.DisplayData,
    approved: dict[str, tuple[datetime, datetime | None]],
    now: datetime,
) -> Observation:
    """Is the board showing content that is not approved (or not now)?"""
    rule = "content_unapproved"
    sha = display.content_sha256
    if not sha:
        return Observation(rule, None, {})
    details = {
        "sha256": sha,
        "content_id": display.content_id,
        # as stored: the protocol's JSON form of the time
        "started_at": display.model_dump(mode="json", include={"content_started_at"})[
            "content_started_at"
        ],
    }
    validity = approved.get(sha)
    if validity is None:
        return Observation(rule, True, {**details, "why": "not in the approved registry"})
    valid_from, valid_to = validity
    if now < valid_from or (valid_to is not None and now >= valid_to):
        return Observation(rule, True, {**details, "why": "outside its approved validity"})
    return Observation(rule, False, details)


def is_fresh(reading: Reading[Any] | None, now: datetime, max_age_s: float) -> bool:
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
    local = now.astimezone(LOCAL_TZ).time()
    return any(start <= local < end for start, end in windows)


@dataclass(frozen=True, slots=True)
class Judging:
    """One board as the rules see it: its inputs, the merged parameters of
    every rule, the key suffixes whose condition is active now, the time and
    how old a reading may be to count."""

    inputs: BoardInputs
    params: dict[str, dict[str, Any]]
    active: set[str]
    now: datetime
    freshness_s: float

    def fresh(self, reading: Reading[D] | None) -> D | None:
        """The reading's data when it is fresh, else None."""
        if reading is None or not is_fresh(reading, self.now, self.freshness_s):
            return None
        return reading.data

    def above(self, rule: str, value: float | None) -> bool | None:
        p = self.params[rule]
        return _above(value, rule in self.active, p["open_above"], p["clear_below"])


Rule = Callable[[Judging], Iterator[Observation]]


def mains_lost(j: Judging) -> Iterator[Observation]:
    power = j.fresh(j.inputs.power)
    mains = power.mains_present if power is not None else None
    yield Observation(
        "mains_lost", None if mains is None else mains is False, {"mains_present": mains}
    )


def battery_low(j: Judging) -> Iterator[Observation]:
    p = j.params["battery_low"]
    power = j.fresh(j.inputs.power)
    battery = power.battery_percent if power is not None else None
    low = _below(battery, "battery_low" in j.active, p["open_below"], p["clear_above"])
    if power is not None and power.low_battery:
        low = True
    yield Observation("battery_low", low, {"battery_percent": battery})


def network_degraded(j: Judging) -> Iterator[Observation]:
    p, active = j.params["network_degraded"], "network_degraded" in j.active
    loss, rtt = j.inputs.loss_avg, j.inputs.rtt_avg
    lossy = _above(loss, active, p["loss_open"], p["loss_clear"])
    slow = _above(rtt, active, p["rtt_open_ms"], p["rtt_clear_ms"])
    degraded = None if lossy is None and slow is None else bool(lossy or slow)
    yield Observation("network_degraded", degraded, {"loss_avg": loss, "rtt_avg": rtt})


def camera_unreachable(j: Judging) -> Iterator[Observation]:
    camera = j.fresh(j.inputs.camera)
    for cam in camera.cameras if camera is not None else []:
        yield Observation(
            "camera_unreachable",
            cam.status not in ("ok", "unauthorized"),
            {"camera_id": cam.camera_id, "status": cam.status, "error": cam.error},
            subject=cam.camera_id,
        )


def display_dark(j: Judging) -> Iterator[Observation]:
    display = j.fresh(j.inputs.display)
    if display is None:
        return
    dark = display.screen_on is False or not display.player_running
    # Dark by a kill-switch order (Điều 12.2) is not a fault to send a technician to.
    yield Observation(
        "display_dark",
        dark and display.halted is None and in_broadcast_window(j.inputs.windows, j.now),
        {
            "screen_on": display.screen_on,
            "player_running": display.player_running,
            "halted": display.halted,
        },
    )


def _on_air(j: Judging, display: fp.DisplayData) -> bool:
    """The screen should show something now, as display_dark sees it: inside
    a broadcast window, not halted by a kill-switch order (Điều 12.2), and
    neither off nor without its player (display_dark's own incident)."""
    dark = display.screen_on is False or not display.player_running
    return not dark and display.halted is None and in_broadcast_window(j.inputs.windows, j.now)


def screen_proof(j: Judging) -> Iterator[Observation]:
    """What the board sees on its own screen: black, frozen, or far from the
    approved item's reference frames. Only while it should be on air; a
    board without screen proof (or whose last capture failed) tells nothing."""
    display = j.fresh(j.inputs.display)
    if display is None or display.screen is None:
        return
    screen = display.screen
    details: dict[str, Any] = {
        "phash": screen.phash,
        "luma_mean": round(screen.luma_mean, 1),
        "luma_stddev": round(screen.luma_stddev, 1),
        "same_count": screen.same_count,
        "reference_distance": screen.reference_distance,
        "source": screen.source,
        "content_id": display.content_id,
        "halted": display.halted,
    }
    on_air = _on_air(j, display)
    yield Observation("screen_black", on_air and screen.black, details)
    yield Observation("screen_frozen", on_air and screen.frozen and not screen.black, details)
    wrong = screen.wrong_content
    yield Observation(
        "screen_wrong_content",
        None if wrong is None and on_air else (on_air and bool(wrong)),
        details,
    )


def _picture_details(cam: fp.CameraStatus) -> dict[str, Any]:
    picture = cam.picture
    details: dict[str, Any] = {"camera_id": cam.camera_id, "status": cam.status}
    if picture is not None:
        details |= {
            "phash": picture.phash,
            "luma_mean": round(picture.luma_mean, 1),
            "luma_stddev": round(picture.luma_stddev, 1),
            "same_count": picture.same_count,
            "reference_distance": picture.reference_distance,
        }
    return details


def _gone(j: Judging, rules: tuple[str, ...], seen: set[str]) -> Iterator[Observation]:
    """A camera taken off the board (or renamed) is no longer failing."""
    for suffix in sorted(j.active):
        rule, _, camera = suffix.partition(":")
        if rule in rules and camera and camera not in seen:
            yield Observation(rule, False, {"why": "no longer reported"}, subject=camera)


def camera_proof(j: Judging) -> Iterator[Observation]:
    """What each camera's picture shows, as the board judged it: black,
    frozen, covered, or turned away from the reference an operator set. A
    camera that does not answer is camera_unreachable's, not these."""
    camera = j.fresh(j.inputs.camera)
    if camera is None:
        return
    for cam in camera.cameras:
        picture = cam.picture
        answering = cam.status in ("ok", "unauthorized")
        details = _picture_details(cam)
        for rule in PICTURE_RULES:
            if not answering:
                observed: bool | None = False
            elif picture is None:
                observed = None
            elif rule == "camera_black":
                observed = picture.black
            elif rule == "camera_frozen":
                observed = picture.frozen and not picture.black
            elif rule == "camera_covered":
                observed = picture.covered and not picture.black
            else:
                observed = picture.moved
            yield Observation(rule, observed, details, subject=cam.camera_id)
    yield from _gone(j, PICTURE_RULES, {c.camera_id for c in camera.cameras})


def camera_findings(j: Judging) -> Iterator[Observation]:
    """QCVN 135:2024 checks a board can make on its cameras: the maker's
    default credentials still open the stream; the camera reports no
    firmware version. A board that makes no such checks (an agent without
    camera proof: no picture, no picture error, no credentials check) tells
    nothing about firmware either."""
    camera = j.fresh(j.inputs.camera)
    if camera is None:
        return
    for cam in camera.cameras:
        details = {"camera_id": cam.camera_id, "firmware": cam.firmware}
        yield Observation(
            "camera_default_credentials",
            cam.default_credentials,
            details,
            subject=cam.camera_id,
        )
        checked = (
            cam.picture is not None
            or cam.picture_error is not None
            or cam.default_credentials is not None
            or cam.firmware is not None
        )
        yield Observation(
            "camera_firmware_unknown",
            (cam.firmware is None) if checked else None,
            details,
            subject=cam.camera_id,
        )
    yield from _gone(j, CAMERA_FINDINGS, {c.camera_id for c in camera.cameras})


def clock_skew(j: Judging) -> Iterator[Observation]:
    heartbeat = j.inputs.heartbeat
    if heartbeat is None or j.fresh(heartbeat) is None:
        return
    # received_at - sent_at of a current heartbeat: the board's clock
    # against the server's, whether it runs behind or ahead
    skew = heartbeat.clock_offset_s
    yield Observation(
        "clock_skew", abs(skew) > j.params["clock_skew"]["max_skew_s"], {"skew_s": round(skew)}
    )


def disk_full(j: Judging) -> Iterator[Observation]:
    heartbeat = j.fresh(j.inputs.heartbeat)
    if heartbeat is not None:
        disk = heartbeat.disk_percent
        yield Observation("disk_full", j.above("disk_full", disk), {"disk_percent": disk})


def spool_degraded(j: Judging) -> Iterator[Observation]:
    # The board cannot keep what it measures on disk: an outage now would
    # cost data (it holds at most a few minutes in memory).
    heartbeat = j.fresh(j.inputs.heartbeat)
    if heartbeat is not None:
        yield Observation(
            "spool_degraded",
            heartbeat.spool_degraded,
            {"disk_percent": heartbeat.disk_percent, "spool_pending": heartbeat.spool_pending},
        )


def overheating(j: Judging) -> Iterator[Observation]:
    heartbeat = j.fresh(j.inputs.heartbeat)
    if heartbeat is not None:
        temperature = heartbeat.temperature_c
        yield Observation(
            "overheating", j.above("overheating", temperature), {"temperature_c": temperature}
        )


def agent_restarting(j: Judging) -> Iterator[Observation]:
    boots = j.inputs.boots_last_hour
    yield Observation(
        "agent_restarting",
        boots >= j.params["agent_restarting"]["boots_per_hour"],
        {"boots": boots},
    )


def spool_dropping(j: Judging) -> Iterator[Observation]:
    dropped = j.inputs.dropped_last_hour
    yield Observation("spool_dropping", dropped > 0, {"dropped": dropped})


def data_budget(j: Judging) -> Iterator[Observation]:
    """The month's 4G data: forecast over the budget (before it is spent),
    and spent. Both clear when a new month starts or the budget is raised;
    a board without a budget (any more) has neither."""
    judged = j.inputs.data_budget
    if judged is None:
        yield Observation("data_budget_forecast", False, {})
        yield Observation("data_budget_spent", False, {})
        return
    usage, budget = judged.usage, judged.budget.monthly_bytes
    details = {
        "month": usage.month,
        "used_mb": round(usage.used / 1e6, 1),
        "forecast_mb": round(usage.forecast / 1e6, 1),
        "budget_mb": round(budget / 1e6, 1),
        "factor": usage.factor,
    }
    clear_at = budget * j.params["data_budget_forecast"]["clear_percent"] / 100
    over = usage.forecast > (clear_at if "data_budget_forecast" in j.active else budget)
    yield Observation("data_budget_forecast", over and not judged.spent, details)
    yield Observation("data_budget_spent", judged.spent, details)


#: The telemetry rules, in the order they are evaluated. ``content_unapproved``
#: is not here: it runs every pass on new display readings (``content_check``).
RULES: dict[str, Rule] = {
    "mains_lost": mains_lost,
    "battery_low": battery_low,
    "network_degraded": network_degraded,
    "camera_unreachable": camera_unreachable,
    "display_dark": display_dark,
    "screen_proof": screen_proof,
    "camera_proof": camera_proof,
    "camera_findings": camera_findings,
    "clock_skew": clock_skew,
    "disk_full": disk_full,
    "spool_degraded": spool_degraded,
    "overheating": overheating,
    "agent_restarting": agent_restarting,
    "spool_dropping": spool_dropping,
    "data_budget": data_budget,
}


def evaluate(
    inputs: BoardInputs,
    params: dict[str, dict[str, Any]],
    active: set[str],
    now: datetime,
    freshness_s: float,
) -> list[Observation]:
    """Every rule's observations on one board. ``active`` holds the key
    suffixes (rule or rule:camera) whose condition is active now."""
    judging = Judging(inputs, params, active, now, freshness_s)
    return [observation for rule in RULES.values() for observation in rule(judging)]


def merged_params(overrides: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Defaults, then the site's override, then the board's."""
    params = {rule: dict(values) for rule, values in DEFAULTS.items()}
    for override in overrides:
        for rule, values in override.items():
            if rule in params:
                params[rule].update(values)
    return params


def incident_for(
    observation: Observation,
    board_id: str,
    *,
    place: tuple[int, int],
    params: dict[str, Any],
) -> tuple[IncidentSpec, Timing]:
    """The incident a telemetry rule's observation opens on a board, and its timing."""
    rule = observation.rule
    named = {"camera": observation.subject} if rule in _NAMED_CAMERA else {}
    spec = IncidentSpec(
        dedupe_key=str(DedupeKey.board(board_id, rule, observation.subject)),
        rule=rule,
        incident_class=(
            "security"
            if rule == "content_unapproved"
            else "compliance"
            if rule in CAMERA_FINDINGS
            else "technical"
        ),
        severity=params["severity"],
        **titled(rule, board=board_id, **named),
        board_id=board_id,
        site_id=place[0],
        organisation_id=place[1],
        details=observation.details,
    )
    return spec, Timing(for_s=params["for_s"], clear_for_s=params["clear_for_s"])
