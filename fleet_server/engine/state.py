"""Board connectivity as a state machine (domain logic, no SQL).

online  — birth received, heartbeats arriving
offline — the agent said goodbye (clean shutdown): stopped on purpose
lost    — the broker delivered the last will: the link or the board died
stale   — connected as far as MQTT knows, but heartbeats are overdue
          (3 × the board's interval): the agent is stuck or the link is half-dead

State messages are applied only when their (boot, seq) is newer than the
last one applied: a will that the broker delivers after the board has
already reconnected is older than the new birth and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

State = Literal["unknown", "online", "offline", "lost", "stale"]

STALE_AFTER_INTERVALS = 3
DEFAULT_HEARTBEAT_S = 30
BOOT_RESET_AFTER_S = 60


@dataclass(frozen=True, slots=True)
class BoardStatus:
    board_id: str
    state: State
    since: datetime
    reason: str | None = None
    boot: int | None = None
    seq: int | None = None
    last_seen_at: datetime | None = None
    heartbeat_interval_s: int | None = None

    @property
    def interval_s(self) -> int:
        return self.heartbeat_interval_s or DEFAULT_HEARTBEAT_S


@dataclass(frozen=True, slots=True)
class StateReport:
    """A state message as stored by ingest."""

    status: Literal["online", "offline", "lost"]
    boot: int
    seq: int
    received_at: datetime
    reason: str | None = None
    heartbeat_interval_s: int | None = None


@dataclass(frozen=True, slots=True)
class Transition:
    before: BoardStatus
    after: BoardStatus

    @property
    def changed(self) -> bool:
        return self.before.state != self.after.state


def unknown(board_id: str, now: datetime) -> BoardStatus:
    return BoardStatus(board_id, "unknown", now)


def apply_report(current: BoardStatus, report: StateReport) -> Transition | None:
    """The effect of one state message, or None when it is stale."""
    if (
        current.boot is not None
        and current.seq is not None
        and (report.boot, report.seq) <= (current.boot, current.seq)
        and not _boot_reset(current, report)
    ):
        return None
    reasons = {
        "online": "birth: agent connected",
        "offline": report.reason or "agent stopped cleanly",
        "lost": "last will: connection lost",
    }
    after = replace(
        current,
        state=report.status,
        reason=reasons[report.status],
        since=report.received_at if report.status != current.state else current.since,
        boot=report.boot,
        seq=report.seq,
        heartbeat_interval_s=report.heartbeat_interval_s or current.heartbeat_interval_s,
        last_seen_at=max(filter(None, (current.last_seen_at, report.received_at))),
    )
    return Transition(current, after)


def _boot_reset(current: BoardStatus, report: StateReport) -> bool:
    """A birth with a *lower* boot counter that arrives well after the last
    state: the controller or its spool was replaced and counts from 1 again.
    (A stale message is a will, or arrives promptly.)"""
    return (
        report.status == "online"
        and current.boot is not None
        and report.boot < current.boot
        and (report.received_at - current.since).total_seconds() > BOOT_RESET_AFTER_S
    )


def apply_heartbeat(current: BoardStatus, received_at: datetime) -> Transition | None:
    """A live heartbeat: proof of life, and the end of ``stale``."""
    if current.last_seen_at is not None and received_at <= current.last_seen_at:
        return None
    after = replace(current, last_seen_at=received_at)
    if current.state == "stale":
        after = replace(after, state="online", reason="heartbeats resumed", since=received_at)
    return Transition(current, after)


def check_stale(
    current: BoardStatus, now: datetime, configured_interval_s: int | None = None
) -> Transition | None:
    """``online`` with no heartbeat for 3 × the interval becomes ``stale``.
    The interval is the one the agent announced in its birth, else the
    board's configured one, else 30 s."""
    if current.state != "online":
        return None
    reference = current.last_seen_at or current.since
    interval = current.heartbeat_interval_s or configured_interval_s or DEFAULT_HEARTBEAT_S
    limit = timedelta(seconds=STALE_AFTER_INTERVALS * interval)
    if now - reference < limit:
        return None
    silent = int((now - reference).total_seconds())
    return Transition(
        current,
        replace(
            current,
            state="stale",
            since=reference + limit,
            reason=f"no heartbeat for {silent} s (interval {interval} s)",
        ),
    )
