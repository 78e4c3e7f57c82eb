"""What the server knows about one board around the moment it went offline
(domain logic: no SQL, no IO): the :class:`Evidence` bundle that
``offline_cause`` judges — the board's power and network readings, its state
messages and boot counter, the other boards at its site and in the fleet,
and the platform's own record of its broker and ingest — and what those
readings say by themselves (a new boot, the readings measured during the
silence, the gaps in the platform's record).

Times are the server's: a reading's ``at`` is when the server reckons it was
measured (``observed_at``: receipt minus the time it waited on the board),
so a reading replayed from the spool after the outage keeps its real time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

#: How far before the loss readings count as "before the loss".
LOOKBACK = timedelta(minutes=15)
#: Boards that went within this of each other went "at the same time".
TOGETHER = timedelta(minutes=2)


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


# -- what the readings say ---------------------------------------------------------


def near(at: datetime, start: datetime, end: datetime) -> bool:
    return start - TOGETHER <= at <= end + TOGETHER


def new_boot(ev: Evidence) -> HeartbeatReading | None:
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


def alive_through(ev: Evidence) -> list[HeartbeatReading]:
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


def during(readings: Iterable[NetworkReading], ev: Evidence) -> list[NetworkReading]:
    """Readings of the same boot measured while the board was silent."""
    return [
        n
        for n in readings
        if n.at > ev.silent_from
        and n.at <= ev.lost_at + LOOKBACK * 4
        and (n.boot is None or n.boot == ev.boot)
    ]


def gap_link_down(ev: Evidence) -> list[NetworkReading]:
    return [n for n in during(ev.network, ev) if not n.link_up or (n.loss_percent or 0) >= 50]


def platform_gaps(ev: Evidence) -> list[tuple[str, datetime, datetime | None]]:
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


def runtime_left(reading: PowerReading, at: datetime) -> timedelta | None:
    if reading.runtime_s is None:
        return None
    return timedelta(seconds=reading.runtime_s) - (at - reading.at)
