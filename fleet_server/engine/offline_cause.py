"""Why a board is offline: the most likely causes, ranked, each with its
confidence and the evidence it rests on (domain logic: no SQL, no IO).

The input is an ``Evidence`` bundle (``offline_evidence``) — what the
server knows about one board around the moment it went. :func:`explain`
turns it into an ``Explanation`` (``offline_verdict``, with its stored
form). Every evidence line carries its time and reading; the words for each
(Vietnamese first, then English) are in ``offline_words``. When nothing
points anywhere the answer is ``unknown``, never a guess.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from fleet_server.engine.offline_evidence import (
    LOOKBACK,
    TOGETHER,
    Evidence,
    HeartbeatReading,
    NetworkReading,
    PowerReading,
    alive_through,
    during,
    gap_link_down,
    near,
    new_boot,
    platform_gaps,
    runtime_left,
)
from fleet_server.engine.offline_verdict import (
    CONFIDENCES,
    PRIORITY,
    Cause,
    Confidence,
    Explanation,
    Line,
)

#: A UPS whose runtime left ends within this of the loss ran out.
RUNTIME_SLACK = timedelta(minutes=3)
#: A new boot this soon after the loss is the restart that caused it.
RESTART_WITHIN = timedelta(minutes=10)
WEAK_SIGNAL_PERCENT = 20.0
SIGNAL_DROP_PERCENT = 30.0
HIGH_LOSS_PERCENT = 20.0
#: A message this much later than the board sent it was held on our side.
LATE = timedelta(minutes=2)


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
        s for s in ev.states if s.status == "offline" and near(s.at, ev.silent_from, ev.lost_at)
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
    for component, start, end in platform_gaps(ev):
        lines.append(Line(start, "platform_gap", {"component": component, "until": end}))
        high = True
    recorded = {u.component for u in ev.uptime}
    for component in sorted(recorded - {g[0] for g in platform_gaps(ev)}):
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
    alive = alive_through(ev)
    late = [h for h in alive if not h.replay and h.received_at - h.at >= LATE]
    link_fine = [n for n in during(ev.network, ev) if n.link_up and (n.loss_percent or 0) < 50]
    if late:
        delay = max(h.received_at - h.at for h in late).total_seconds()
        lines.append(Line(late[0].at, "delivered_late", {"delay_s": round(delay)}))
    if alive and link_fine and not gap_link_down(ev):
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
    rebooted = new_boot(ev)
    board_rebooted = rebooted is not None and rebooted.uptime_s <= _seconds_since(ev, rebooted)
    if last.source in ("none", "power_supply") or (
        last.battery_percent is None and last.runtime_s is None and not last.low_battery
    ):
        lines.append(Line(last.at, "no_ups", {}))
        if board_rebooted and rebooted is not None:
            lines.append(_boot_line(ev, rebooted))
        return Cause("power", "high" if board_rebooted else "medium", tuple(lines)), []
    left = runtime_left(last, ev.silent_from)
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
    boot = new_boot(ev)
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
    down = gap_link_down(ev)
    if down:
        lines.append(
            Line(down[0].at, "gap_link_down", {"count": len(down), **_net_params(down[0])})
        )
    if not lines:
        return None, []
    confidence: Confidence = "high" if down or len(lines) >= 2 else "medium"
    return Cause("uplink", confidence, tuple(lines)), []


# -- helpers -----------------------------------------------------------------------


def _seconds_since(ev: Evidence, beat: HeartbeatReading) -> float:
    return (beat.at - ev.silent_from).total_seconds()


def _boot_line(ev: Evidence, beat: HeartbeatReading) -> Line:
    if beat.uptime_s < 0:
        return Line(beat.at, "new_boot", {"boot": beat.boot})
    board = beat.uptime_s <= _seconds_since(ev, beat)
    key = "new_boot_board" if board else "new_boot_agent"
    return Line(beat.at, key, {"boot": beat.boot, "uptime_s": beat.uptime_s})


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
