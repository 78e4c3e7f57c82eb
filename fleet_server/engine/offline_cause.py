"""Why a board is offline: the most likely causes, ranked, each with its
confidence and the evidence it rests on (domain logic: no SQL, no IO).

The input is an :class:`Evidence` bundle — what the server knows about one
board around the moment it went (its power and network readings, its state
messages and boot counter, the other boards at its site and in the fleet,
and the platform's own record of its broker and ingest).
:func:`explain` turns it into an :class:`Explanation`. Every evidence line
carries its time and reading; the words for each (Vietnamese first, then
English) are in ``offline_words``. When nothing points anywhere the answer
is ``unknown``, never a guess.

Times are the server's: a reading's ``at`` is when the server reckons it was
measured (``observed_at``: receipt minus the time it waited on the board),
so a reading replayed from the spool after the outage keeps its real time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Confidence = Literal["high", "medium", "low"]
CauseCode = Literal[
    "platform",  # our side: the broker or ingest was down, not the board
    "shutdown",  # stopped on purpose (a clean "offline")
    "power",  # the UPS ran out (or there was none) after the mains failed
    "site_power",  # every board at the site went, after mains lost
    "site_uplink",  # every board at the site went, mains on
    "restart",  # the agent or the board restarted (crashed)
    "uplink",  # the board's own 4G link
    "unknown",
]
CONFIDENCES: tuple[Confidence, ...] = ("high", "medium", "low")
#: Ties in confidence: the cause that explains more comes first.
PRIORITY: tuple[CauseCode, ...] = (
    "shutdown",
    "platform",
    "site_power",
    "power",
    "site_uplink",
    "restart",
    "uplink",
    "unknown",
)

#: How far before the loss readings count as "before the loss".
LOOKBACK = timedelta(minutes=15)
#: Boards that went within this of each other went "at the same time".
TOGETHER = timedelta(minutes=2)
#: A UPS whose runtime left ends within this of the loss ran out.
RUNTIME_SLACK = timedelta(minutes=3)
#: A new boot this soon after the loss is the restart that caused it.
RESTART_WITHIN = timedelta(minutes=10)
WEAK_SIGNAL_PERCENT = 20.0
SIGNAL_DROP_PERCENT = 30.0
HIGH_LOSS_PERCENT = 20.0
#: A message this much later than the board sent it was held on our side.
LATE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class PowerReading:
    at: datetime
    source: str
    mains_present: bool | None
    on_battery: bool
    low_battery: bool = False
    battery_percent: float | None = None
    runtime_s: int | None = None


@dataclass(frozen=True, slots=True)
class NetworkReading:
    at: datetime
    link_up: bool
    loss_percent: float | None = None
    rtt_ms: float | None = None
    signal_percent: float | None = None
    boot: int | None = None


@dataclass(frozen=True, slots=True)
class StateReading:
    """A state message (birth, clean offline, last will) by its receipt."""

    at: datetime
    status: Literal["online", "offline", "lost"]
    boot: int
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class HeartbeatReading:
    at: datetime  # observed (measured, on the server's clock)
    received_at: datetime
    boot: int
    uptime_s: int
    replay: bool = False


@dataclass(frozen=True, slots=True)
class SitePeer:
    """Another board at the same site (same power, same router or cell)."""

    board_id: str
    #: when it went lost/stale (or silent) near the loss; None: not known to
    went_at: datetime | None
    #: heard from after this board went silent: it stayed up
    heard_after: bool = False
    mains_present: bool | None = None  # its last power reading before then


@dataclass(frozen=True, slots=True)
class FleetPulse:
    """The other boards, by what ingest received: those heard just before
    the loss, and how many of them were heard while this board was silent."""

    heard_before: int
    sites_before: int
    heard_during: int
    #: boards at other sites whose last will came within ``TOGETHER``
    wills_elsewhere: int = 0
    will_sites: int = 0


@dataclass(frozen=True, slots=True)
class Uptime:
    """A span in which a part of our platform recorded itself working."""

    component: str  # ingest | broker
    up_from: datetime
    up_to: datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    board_id: str
    state: str  # lost | stale | offline (online: nothing to explain)
    #: the last time the board was heard before it went (else when it went)
    silent_from: datetime
    #: when the server decided it was gone (the will's receipt, or stale)
    lost_at: datetime
    boot: int | None
    interval_s: int = 30
    power: tuple[PowerReading, ...] = ()
    network: tuple[NetworkReading, ...] = ()
    states: tuple[StateReading, ...] = ()
    heartbeats: tuple[HeartbeatReading, ...] = ()
    site_peers: tuple[SitePeer, ...] = ()
    fleet: FleetPulse | None = None
    #: the platform's own record; empty when nothing records it
    uptime: tuple[Uptime, ...] = ()
    #: when the evidence was read (readings after it are not known yet)
    now: datetime | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """One piece of evidence: when, what (a key of ``offline_words.LINES``)
    and the reading (the key's params)."""

    at: datetime
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Cause:
    code: CauseCode
    confidence: Confidence
    lines: tuple[Line, ...]


@dataclass(frozen=True, slots=True)
class Explanation:
    causes: tuple[Cause, ...]  # most likely first; ``unknown`` alone when nothing points
    #: facts that speak against a cause one might think of (mains lost but
    #: the UPS was fine; other boards were heard as usual)
    ruled_out: tuple[Line, ...] = ()

    @property
    def top(self) -> Cause:
        return self.causes[0]


def explain(evidence: Evidence) -> Explanation:
    """The ranked causes of ``evidence``'s loss, and what rules others out."""
    found: list[Cause] = []
    ruled_out: list[Line] = []
    for rule in (_shutdown, _platform, _power, _site, _restart, _uplink):
        cause, against = rule(evidence)
        if cause is not None:
            found.append(cause)
        ruled_out += against
    if any(c.code == "site_power" for c in found):
        found = [c for c in found if c.code != "power"]  # the site's power says it all
    if not found:
        found.append(Cause("unknown", "low", tuple(_what_was_checked(evidence))))
    found.sort(key=lambda c: (CONFIDENCES.index(c.confidence), PRIORITY.index(c.code)))
    return Explanation(tuple(found), tuple(ruled_out))


def explain_site(explanations: Iterable[Explanation]) -> Explanation:
    """A whole site's cause from its boards' explanations: the top cause of
    the most boards (a board's own power or uplink at a site that went
    together is the site's), its weakest confidence among them."""
    board_level = {"power": "site_power", "uplink": "site_uplink", "unknown": "site_uplink"}
    tops: dict[str, list[Cause]] = {}
    ruled_out: list[Line] = []
    for explanation in explanations:
        top = explanation.top
        code = board_level.get(top.code, top.code)
        confidence: Confidence = top.confidence
        if top.code != code:  # a board's own cause, at a site that went together
            confidence = "medium" if top.confidence == "high" else "low"
        tops.setdefault(code, []).append(Cause(code, confidence, top.lines))  # type: ignore[arg-type]
        ruled_out += [line for line in explanation.ruled_out if line not in ruled_out]
    if not tops:
        return Explanation((Cause("unknown", "low", ()),))
    ranked = sorted(
        tops.items(),
        key=lambda item: (-len(item[1]), PRIORITY.index(item[0])),
    )
    causes = []
    for code, found in ranked:
        weakest = max(CONFIDENCES.index(c.confidence) for c in found)
        lines: list[Line] = []
        for line in (line for c in found for line in c.lines):
            if line not in lines:
                lines.append(line)
        causes.append(Cause(code, CONFIDENCES[weakest], tuple(lines[:8])))  # type: ignore[arg-type]
    return Explanation(tuple(causes), tuple(ruled_out[:4]))


Outcome = tuple[Cause | None, list[Line]]


# -- the rules: each returns a cause (or None) and lines against causes ------------


def _shutdown(ev: Evidence) -> Outcome:
    """A clean "offline" from the agent: somebody or something stopped it."""
    clean = [
        s for s in ev.states if s.status == "offline" and _near(s.at, ev.silent_from, ev.lost_at)
    ]
    if not clean:
        return None, []
    last = clean[-1]
    line = Line(last.at, "clean_offline", {"reason": last.reason or "", "boot": last.boot})
    return Cause("shutdown", "high", (line,)), []


def _platform(ev: Evidence) -> Outcome:
    """Our broker or ingest was down: the board may have been fine."""
    lines: list[Line] = []
    against: list[Line] = []
    high = False
    for component, start, end in _platform_gaps(ev):
        lines.append(Line(start, "platform_gap", {"component": component, "until": end}))
        high = True
    recorded = {u.component for u in ev.uptime}
    for component in sorted(recorded - {g[0] for g in _platform_gaps(ev)}):
        against.append(Line(ev.silent_from, "platform_up", {"component": component}))
    fleet = ev.fleet
    if fleet is not None and fleet.heard_before >= 1:
        if fleet.heard_during == 0:
            lines.append(
                Line(
                    ev.silent_from,
                    "fleet_silent",
                    {"boards": fleet.heard_before, "sites": fleet.sites_before},
                )
            )
            high = high or fleet.sites_before >= 2
        elif fleet.heard_during * 2 >= fleet.heard_before:
            against.append(
                Line(
                    ev.silent_from,
                    "fleet_heard",
                    {"heard": fleet.heard_during, "boards": fleet.heard_before},
                )
            )
    if fleet is not None and fleet.will_sites >= 2:
        lines.append(
            Line(
                ev.lost_at,
                "fleet_wave",
                {"boards": fleet.wills_elsewhere, "sites": fleet.will_sites},
            )
        )
    alive = _alive_through(ev)
    late = [h for h in alive if not h.replay and h.received_at - h.at >= LATE]
    link_fine = [n for n in _during(ev.network, ev) if n.link_up and (n.loss_percent or 0) < 50]
    if late:
        delay = max(h.received_at - h.at for h in late).total_seconds()
        lines.append(Line(late[0].at, "delivered_late", {"delay_s": round(delay)}))
    if alive and link_fine and not _gap_link_down(ev):
        lines.append(Line(link_fine[0].at, "gap_link_fine", _net_params(link_fine[-1])))
    if not lines:
        return None, against
    if high or late:
        confidence: Confidence = "high"
    elif len(lines) >= 2 or (fleet is not None and fleet.will_sites >= 3):
        confidence = "medium"
    else:
        confidence = "low"
    return Cause("platform", confidence, tuple(lines)), against


def _power(ev: Evidence) -> Outcome:
    """The UPS ran out after the mains failed (or there was no UPS)."""
    before = [p for p in ev.power if ev.silent_from - LOOKBACK <= p.at <= ev.lost_at]
    if not before:
        return None, []
    last = before[-1]
    mains_off = last.on_battery or last.mains_present is False
    if not mains_off:
        return None, [Line(last.at, "mains_present", _power_params(last))]
    first_off = next(
        (p for p in before if p.on_battery or p.mains_present is False),
        last,
    )
    lines = [Line(first_off.at, "mains_lost", _power_params(first_off))]
    rebooted = _new_boot(ev)
    board_rebooted = rebooted is not None and rebooted.uptime_s <= _seconds_since(ev, rebooted)
    if last.source in ("none", "power_supply") or (
        last.battery_percent is None and last.runtime_s is None and not last.low_battery
    ):
        lines.append(Line(last.at, "no_ups", {}))
        if board_rebooted and rebooted is not None:
            lines.append(_boot_line(ev, rebooted))
        return Cause("power", "high" if board_rebooted else "medium", tuple(lines)), []
    left = _runtime_left(last, ev.silent_from)
    ran_out = last.low_battery or (left is not None and left <= RUNTIME_SLACK)
    if ran_out:
        if last is not first_off:
            lines.append(
                Line(
                    last.at,
                    "ups_low" if last.low_battery else "ups_on_battery",
                    _power_params(last),
                )
            )
        if left is not None:
            lines.append(
                Line(
                    last.at + timedelta(seconds=last.runtime_s or 0),
                    "runtime_out",
                    {"runtime_s": last.runtime_s},
                )
            )
        if board_rebooted and rebooted is not None:
            lines.append(_boot_line(ev, rebooted))
        return Cause("power", "high", tuple(lines)), []
    # On battery with runtime to spare: the board should have stayed up.
    against = Line(last.at, "ups_fine", _power_params(last))
    if board_rebooted and rebooted is not None:
        # ... yet it booted afresh: the UPS did not hold (a worn battery)
        lines += [Line(last.at, "ups_on_battery", _power_params(last)), _boot_line(ev, rebooted)]
        return Cause("power", "medium", tuple(lines)), []
    return None, [against]


def _site(ev: Evidence) -> Outcome:
    """Every board at the site went at about the same time: its power or its
    uplink, not this board."""
    if not ev.site_peers:
        return None, []
    went = [p for p in ev.site_peers if p.went_at is not None and not p.heard_after]
    stayed = [p for p in ev.site_peers if p.heard_after]
    if stayed:
        return None, [Line(ev.silent_from, "site_others_up", {"boards": len(stayed)})]
    if len(went) < len(ev.site_peers):
        return None, []  # some not known yet: no conclusion
    total = len(ev.site_peers) + 1
    line = Line(
        min(p.went_at for p in went if p.went_at is not None),
        "site_together",
        {"down": total, "total": total, "window_s": int(TOGETHER.total_seconds())},
    )
    mains = [p.mains_present for p in went if p.mains_present is not None]
    own = [p for p in ev.power if p.at <= ev.lost_at]
    if own:
        mains.append(not (own[-1].on_battery or own[-1].mains_present is False))
    off = sum(1 for m in mains if m is False)
    if mains and off * 2 > len(mains):
        lines = (line, Line(line.at, "site_mains_lost", {"boards": off, "known": len(mains)}))
        return Cause("site_power", "high", lines), []
    if mains:
        lines = (line, Line(line.at, "site_mains_on", {"boards": len(mains) - off}))
        return Cause("site_uplink", "medium", lines), []
    return Cause("site_uplink", "low", (line,)), []


def _restart(ev: Evidence) -> Outcome:
    """A new boot soon after the loss with no power event: the agent or the
    board restarted (crashed, or was restarted)."""
    boot = _new_boot(ev)
    if boot is None:
        return None, []
    power = [p for p in ev.power if ev.silent_from - LOOKBACK <= p.at <= ev.lost_at]
    if power and (power[-1].on_battery or power[-1].mains_present is False):
        return None, []  # the power rule speaks for it
    soon = boot.at - ev.silent_from <= RESTART_WITHIN
    lines = [_boot_line(ev, boot)]
    if power:
        lines.append(Line(power[-1].at, "mains_present", _power_params(power[-1])))
    confidence: Confidence = "high" if soon else "low"
    return Cause("restart", confidence, tuple(lines)), []


def _uplink(ev: Evidence) -> Outcome:
    """The board's own 4G link: signal falling, loss rising or link down
    before the loss, or the board's readings during the outage (replayed
    from its spool) saying its link was down."""
    lines: list[Line] = []
    before = [n for n in ev.network if ev.silent_from - LOOKBACK <= n.at <= ev.silent_from]
    if before:
        last = before[-1]
        signals = [n.signal_percent for n in before if n.signal_percent is not None]
        if not last.link_up:
            lines.append(Line(last.at, "link_down", _net_params(last)))
        if signals and max(signals) - signals[-1] >= SIGNAL_DROP_PERCENT:
            top = next(n for n in before if n.signal_percent == max(signals))
            lines.append(
                Line(
                    last.at,
                    "signal_fell",
                    {"from": max(signals), "to": signals[-1], "since": top.at},
                )
            )
        elif signals and signals[-1] <= WEAK_SIGNAL_PERCENT:
            lines.append(Line(last.at, "signal_weak", _net_params(last)))
        losses = [n.loss_percent for n in before[-3:] if n.loss_percent is not None]
        if losses and losses[-1] >= HIGH_LOSS_PERCENT and losses[-1] > losses[0] - 1:
            lines.append(Line(last.at, "loss_rose", _net_params(last)))
    down = _gap_link_down(ev)
    if down:
        lines.append(
            Line(down[0].at, "gap_link_down", {"count": len(down), **_net_params(down[0])})
        )
    if not lines:
        return None, []
    confidence: Confidence = "high" if down or len(lines) >= 2 else "medium"
    return Cause("uplink", confidence, tuple(lines)), []


# -- helpers -----------------------------------------------------------------------


def _near(at: datetime, start: datetime, end: datetime) -> bool:
    return start - TOGETHER <= at <= end + TOGETHER


def _new_boot(ev: Evidence) -> HeartbeatReading | None:
    """The first heartbeat of a boot newer than the one the board ran when
    it went (or a birth with a newer boot, as a heartbeat with no uptime)."""
    if ev.boot is None:
        return None
    later = [h for h in ev.heartbeats if h.boot > ev.boot and h.at >= ev.silent_from]
    if later:
        return min(later, key=lambda h: h.at)
    births = [s for s in ev.states if s.status == "online" and s.boot > ev.boot]
    if births:
        first = births[0]
        return HeartbeatReading(first.at, first.at, first.boot, -1)
    return None


def _seconds_since(ev: Evidence, beat: HeartbeatReading) -> float:
    return (beat.at - ev.silent_from).total_seconds()


def _boot_line(ev: Evidence, beat: HeartbeatReading) -> Line:
    if beat.uptime_s < 0:
        return Line(beat.at, "new_boot", {"boot": beat.boot})
    board = beat.uptime_s <= _seconds_since(ev, beat)
    key = "new_boot_board" if board else "new_boot_agent"
    return Line(beat.at, key, {"boot": beat.boot, "uptime_s": beat.uptime_s})


def _alive_through(ev: Evidence) -> list[HeartbeatReading]:
    """Heartbeats of the same boot measured while the board was silent: it
    was running all along (they arrived later, replayed or delayed)."""
    return [
        h
        for h in ev.heartbeats
        if h.boot == ev.boot
        and h.at > ev.silent_from + timedelta(seconds=ev.interval_s)
        and h.at <= ev.lost_at + LOOKBACK * 4
        and h.received_at > h.at  # arrived after it was measured, by a margin
        and h.received_at - h.at >= timedelta(seconds=ev.interval_s)
    ]


def _during(readings: Iterable[NetworkReading], ev: Evidence) -> list[NetworkReading]:
    """Readings of the same boot measured while the board was silent."""
    return [
        n
        for n in readings
        if n.at > ev.silent_from
        and n.at <= ev.lost_at + LOOKBACK * 4
        and (n.boot is None or n.boot == ev.boot)
    ]


def _gap_link_down(ev: Evidence) -> list[NetworkReading]:
    return [n for n in _during(ev.network, ev) if not n.link_up or (n.loss_percent or 0) >= 50]


def _platform_gaps(ev: Evidence) -> list[tuple[str, datetime, datetime | None]]:
    """Gaps in the platform's record that cover the board's silence: the
    component recorded itself up before it and not again until after."""
    gaps: list[tuple[str, datetime, datetime | None]] = []
    window_end = ev.silent_from + timedelta(seconds=3 * ev.interval_s)
    for component in sorted({u.component for u in ev.uptime}):
        spans = sorted((u for u in ev.uptime if u.component == component), key=lambda u: u.up_from)
        before = [u for u in spans if u.up_from <= ev.silent_from]
        if not before:
            continue  # no record from before: it says nothing
        up_to = max(u.up_to for u in before)
        if up_to >= window_end or any(
            u.up_from <= window_end and u.up_to >= window_end for u in spans
        ):
            continue
        after = [u.up_from for u in spans if u.up_from > up_to]
        gaps.append((component, up_to, min(after) if after else None))
    return gaps


def _runtime_left(reading: PowerReading, at: datetime) -> timedelta | None:
    if reading.runtime_s is None:
        return None
    return timedelta(seconds=reading.runtime_s) - (at - reading.at)


def _power_params(p: PowerReading) -> dict[str, Any]:
    return {
        "mains_present": p.mains_present,
        "on_battery": p.on_battery,
        "battery_percent": p.battery_percent,
        "runtime_s": p.runtime_s,
    }


def _net_params(n: NetworkReading) -> dict[str, Any]:
    return {
        "link_up": n.link_up,
        "signal_percent": n.signal_percent,
        "loss_percent": n.loss_percent,
        "rtt_ms": n.rtt_ms,
    }


def _what_was_checked(ev: Evidence) -> list[Line]:
    """For ``unknown``: what the server looked at and found nothing in."""
    lines: list[Line] = []
    if not [p for p in ev.power if p.at <= ev.lost_at]:
        lines.append(Line(ev.silent_from, "no_power_readings", {}))
    if not [n for n in ev.network if n.at <= ev.silent_from]:
        lines.append(Line(ev.silent_from, "no_network_readings", {}))
    if any(s.status == "lost" for s in ev.states):
        will = next(s for s in ev.states if s.status == "lost")
        lines.append(Line(will.at, "will", {"boot": will.boot}))
    if not lines:
        lines.append(Line(ev.silent_from, "nothing_abnormal", {}))
    return lines


# -- stored form (the incident's details) ------------------------------------------


def to_json(explanation: Explanation, evidence: Evidence) -> dict[str, Any]:
    """The explanation as stored on the incident (``details.offline_cause``):
    codes and readings, never words (they are rendered in the reader's
    language)."""
    return {
        "board_id": evidence.board_id,
        "state": evidence.state,
        "silent_from": evidence.silent_from.isoformat(),
        "lost_at": evidence.lost_at.isoformat(),
        "boot": evidence.boot,
        "interval_s": evidence.interval_s,
        **causes_json(explanation),
    }


def causes_json(explanation: Explanation) -> dict[str, Any]:
    """The causes and what was ruled out, as stored."""
    return {
        "causes": [
            {
                "code": c.code,
                "confidence": c.confidence,
                "lines": [_line_json(line) for line in c.lines],
            }
            for c in explanation.causes
        ],
        "ruled_out": [_line_json(line) for line in explanation.ruled_out],
    }


def from_json(data: Mapping[str, Any]) -> Explanation:
    """Back from ``to_json`` (unknown codes or keys are kept as they are:
    the words fall back to the key)."""
    causes = tuple(
        Cause(
            c.get("code", "unknown"),
            c.get("confidence", "low"),
            tuple(_line_back(line) for line in c.get("lines", [])),
        )
        for c in data.get("causes", [])
    )
    return Explanation(
        causes or (Cause("unknown", "low", ()),),
        tuple(_line_back(line) for line in data.get("ruled_out", [])),
    )


def _line_json(line: Line) -> dict[str, Any]:
    return {
        "at": line.at.isoformat(),
        "key": line.key,
        "params": {k: _plain(v) for k, v in line.params.items()},
    }


def _line_back(data: Mapping[str, Any]) -> Line:
    params = {
        k: datetime.fromisoformat(v) if isinstance(v, str) and _is_time(k) else v
        for k, v in dict(data.get("params", {})).items()
    }
    return Line(datetime.fromisoformat(data["at"]), str(data.get("key", "")), params)


def _is_time(key: str) -> bool:
    return key in ("until", "since")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 1)
    return value
