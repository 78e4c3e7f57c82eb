"""The engine's rollout pass (docs/updates.md, "How a rollout runs").

Every few seconds, in the engine's transaction, each rollout still followed
is taken under a row lock (the API's pause and abort wait for it) and moved
on from what the database says, so a restarted or new engine carries on
where the last one stopped:

1. boards in flight follow their ``update`` events and their command's
   answer (rejected or expired: failed); a board not healthy in time fails;
2. failures beyond the threshold abort the rollout: boards not sent yet are
   cancelled;
3. a wave whose boards are all final is done; after the pause the next one
   starts, after the last the rollout is completed;
4. the current wave's boards not sent yet are sent the ``update`` command,
   unless a broadcast window is on air or close, or a maintenance window
   holds the board or its site (``force`` sends anyway): those wait.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fleet_protocol import releases as fr
from fleet_protocol.errors import ProtocolError
from fleet_server.access import audit
from fleet_server.broadcast import storage as windows
from fleet_server.commands import storage as commands
from fleet_server.maintenance import storage as maintenance
from fleet_server.releases import storage as releases
from fleet_server.releases.models import artifact_url
from fleet_server.rollouts import storage as store
from fleet_server.rollouts.models import (
    EVENT_STATES,
    FAILED,
    IN_FLIGHT,
    NOT_SENT,
    TERMINAL,
    Span,
    Threshold,
    advanced,
    blocking_window,
)
from fleet_server.rollouts.storage import BoardRow, Conn, RolloutRow
from fleet_server.settings import Settings

log = logging.getLogger(__name__)

ACTOR = "engine"
#: where the API serves release artifacts (api/routers/releases.py)
FILES_PATH = "/api/v1/releases/files"


@dataclass(frozen=True, slots=True)
class RolloutSettings:
    #: where boards download artifacts: ``<base_url>/<artifact>``; None: no
    #: update is sent (a rollout's boards fail, naming the missing setting)
    base_url: str | None = None
    every_s: float = 5.0
    command_expires_s: int = 3600
    #: no update starts this close before a broadcast window
    window_margin_s: int = 900
    #: beyond the health deadline, for the healthy event to reach the server
    health_slack_s: int = 120
    #: a pass this long after the one before, or earlier than it, means the
    #: clock stepped (NTP, a VM resumed): the in-flight boards' timers and a
    #: pause between waves move with it instead of timing out at once (or an
    #: hour late); None: never (tests that move the clock by hand)
    clock_step_s: float | None = 300.0
    #: a board that reports nothing this long after its command fails
    progress_timeout_s: int = 2 * 3600


class RolloutJob:
    def __init__(self, settings: RolloutSettings | None = None) -> None:
        self.settings = settings or RolloutSettings()
        self._due: datetime | None = None
        #: the time of the last pass (clock steps, see ``clock_step_s``)
        self._last: datetime | None = None

    def due(self, now: datetime) -> bool:
        """Time for a pass: every ``every_s``, and at once after the clock
        stepped back (it would otherwise wait out the step)."""
        if self._due is None or now >= self._due:
            return True
        return now < self._due - timedelta(seconds=self.settings.every_s)

    def run(self, conn: Conn, now: datetime) -> int:
        """One round over every rollout followed; returns how many boards
        changed state."""
        self._due = now + timedelta(seconds=self.settings.every_s)
        step = self._clock_step(now)
        changed = 0
        for rollout_id in store.active_ids(conn):
            rollout = store.get_rollout(conn, rollout_id, lock=True)
            if rollout is not None:
                if step:
                    _shift(conn, rollout, step, now)
                changed += self.step(conn, rollout, now)
        return changed

    def _clock_step(self, now: datetime) -> timedelta:
        """How far the clock stepped since the last pass (0: it did not)."""
        last, self._last = self._last, now
        limit = self.settings.clock_step_s
        if last is None or limit is None:
            return timedelta(0)
        gap = now - last
        if timedelta(0) <= gap <= timedelta(seconds=limit):
            return timedelta(0)
        return gap

    def step(self, conn: Conn, rollout: RolloutRow, now: datetime) -> int:
        boards = store.boards_of(conn, rollout.id)
        changed = sum(self._follow(conn, rollout, b, now) for b in boards if b.state in IN_FLIGHT)
        if rollout.state == "scheduled" and now >= rollout.starts_at:
            rollout.state = "running"
            store.save_rollout(conn, rollout, now)
        if rollout.state != "running":
            return changed
        if self._over_threshold(conn, rollout, boards, now):
            return changed + sum(b.state == "cancelled" for b in boards)
        wave = self._wave(conn, rollout, boards, now)
        if wave is None:
            return changed
        for board in boards:
            if board.wave == wave and board.state in NOT_SENT:
                changed += self._try_send(conn, rollout, board, now)
        return changed

    # -- boards in flight --------------------------------------------------------------
    def _follow(self, conn: Conn, rollout: RolloutRow, board: BoardRow, now: datetime) -> int:
        before = (board.state, board.reason)
        for details in store.update_events(conn, board.board_id, rollout.id, rollout.version):
            reported = EVENT_STATES.get(str(details.get("state")))
            if reported is None:
                continue
            state = advanced(board.state, reported)
            if state == board.state:
                continue
            if state == "healthy" and (other := _runs_other(conn, board, rollout)):
                board.reason = other  # not healthy until its agent runs the version
                continue
            board.state = state
            if state == "installed" and board.installed_at is None:
                board.installed_at = now
            if state in FAILED:
                board.reason = str(details.get("reason") or state)[:500]
            if state == "healthy":
                board.version_after, board.reason = rollout.version, None
            if state == "rolled_back":
                board.version_after = str(details.get("previous") or board.version_before or "")
        if board.state in IN_FLIGHT:
            self._command_answer(conn, board, rollout, now)
        if board.state in IN_FLIGHT and not self._still_enabled(conn, board):
            # its broker account is off: nothing more can come from it, and an
            # admin's choice is not the release's failure (no threshold abort)
            board.state, board.reason = "skipped", "board disabled during its update"
        if board.state in IN_FLIGHT:
            self._timeout(board, rollout, now)
        if (board.state, board.reason) == before:
            return 0
        store.save_board(conn, board, now)
        return 1

    @staticmethod
    def _still_enabled(conn: Conn, board: BoardRow) -> bool:
        place = store.board_place(conn, board.board_id)
        return place is not None and place[1]

    def _command_answer(
        self, conn: Conn, board: BoardRow, rollout: RolloutRow, now: datetime
    ) -> None:
        if board.request_id is None:
            return
        command = commands.get_command(conn, board.request_id, now)
        if command is None:
            return
        if command.state in ("rejected", "failed"):
            board.state = "failed"
            board.reason = f"the board {command.state} the update: {command.error or ''}".strip()[
                :500
            ]
        elif command.state == "expired" and board.state == "sent":
            board.state = "failed"
            board.reason = "no answer before the update command expired (board offline?)"
        elif command.state == "succeeded" and (command.output or {}).get("already"):
            if other := _runs_other(conn, board, rollout):
                board.reason = other
                return
            board.state = "healthy"
            board.reason = "already running this version"
            board.version_after = rollout.version

    def _timeout(self, board: BoardRow, rollout: RolloutRow, now: datetime) -> None:
        s = self.settings
        if board.state == "installed" and board.installed_at is not None:
            limit = rollout.health_deadline_s + s.health_slack_s
            if now > board.installed_at + timedelta(seconds=limit):
                board.state = "failed"
                board.reason = f"not reported healthy within {limit} s of the switch"
        elif board.sent_at is not None and now > board.sent_at + timedelta(
            seconds=s.progress_timeout_s
        ):
            board.state = "failed"
            board.reason = f"no progress reported within {s.progress_timeout_s} s"

    # -- the rollout -------------------------------------------------------------------
    def _over_threshold(
        self, conn: Conn, rollout: RolloutRow, boards: list[BoardRow], now: datetime
    ) -> bool:
        threshold = Threshold(rollout.max_failures, rollout.max_failure_percent)
        failures = sum(b.state in FAILED for b in boards)
        tried = sum(b.state not in (*NOT_SENT, "skipped", "cancelled") for b in boards)
        if not threshold.exceeded(failures, tried):
            return False
        reason = threshold.describe(failures, tried)
        end(conn, rollout, boards, "aborted", reason=reason, now=now)
        audit.record(
            conn,
            ACTOR,
            "rollout.abort",
            target_type="rollout",
            target_id=rollout.id,
            after={"state": "aborted", "reason": reason},
        )
        log.warning("rollout %d of %s aborted: %s", rollout.id, rollout.version, reason)
        return True

    def _wave(
        self, conn: Conn, rollout: RolloutRow, boards: list[BoardRow], now: datetime
    ) -> int | None:
        """The wave to send now (None: between waves, or finished)."""
        last = max((b.wave for b in boards), default=0)
        current = rollout.current_wave
        done = current > 0 and all(b.state in TERMINAL for b in boards if b.wave == current)
        if current > 0 and not done:
            return current
        if current >= last:
            rollout.state, rollout.finished_at, rollout.next_wave_at = "completed", now, None
            store.save_rollout(conn, rollout, now)
            log.info("rollout %d of %s completed", rollout.id, rollout.version)
            return None
        if current > 0 and rollout.pause_s > 0:
            if rollout.next_wave_at is None:
                rollout.next_wave_at = now + timedelta(seconds=rollout.pause_s)
                store.save_rollout(conn, rollout, now)
            if now < rollout.next_wave_at:
                return None
        rollout.current_wave = next(b.wave for b in boards if b.wave > current)
        rollout.next_wave_at = None
        store.save_rollout(conn, rollout, now)
        return rollout.current_wave

    # -- sending -----------------------------------------------------------------------
    def _try_send(self, conn: Conn, rollout: RolloutRow, board: BoardRow, now: datetime) -> int:
        before = (board.state, board.reason)
        place = store.board_place(conn, board.board_id)
        busy = store.updating_elsewhere(conn, board.board_id, rollout.id)
        if place is None or not place[1]:
            board.state = "skipped"
            board.reason = "board disabled" if place else "board no longer exists"
        elif busy is not None:  # one update at a time, whatever the force
            board.state, board.reason = "waiting", f"rollout {busy} is updating this board"
        elif hold := None if rollout.force else self._hold(conn, board.board_id, place[0], now):
            board.state, board.reason = "waiting", hold
        else:
            self._send(conn, rollout, board, now)
        if (board.state, board.reason) == before:
            return 0
        store.save_board(conn, board, now)
        return 1

    def _hold(self, conn: Conn, board_id: str, site_id: int, now: datetime) -> str | None:
        """Why the board must not update now, None when it may."""
        if maintenance.covered(conn, now, site_id=site_id, board_id=board_id):
            return "maintenance window on the board or its site"
        spans = windows.board_windows(conn, board_id) or windows.site_windows(conn, site_id)
        margin = timedelta(seconds=self.settings.window_margin_s)
        window = blocking_window([Span(w.part, w.starts_at, w.ends_at) for w in spans], now, margin)
        if window is None:
            return None
        return (
            f"{window.part} broadcast window {window.starts_at:%H:%M}-{window.ends_at:%H:%M}"
            " on air or about to start"
        )

    def _send(self, conn: Conn, rollout: RolloutRow, board: BoardRow, now: datetime) -> None:
        release = releases.get(conn, rollout.version)
        base = self.settings.base_url
        if release is None or base is None:
            board.state = "failed"
            board.reason = (
                "FLEET_RELEASES_BASE_URL is not set" if base is None else "release is gone"
            )
            return
        args: dict[str, Any] = {
            "version": release.version,
            "url": artifact_url(base, release.artifact),
            "manifest": release.manifest,
            "health_deadline_s": rollout.health_deadline_s,
            "rollout_id": rollout.id,
        }
        try:
            fr.check_update_args(args)
        except ProtocolError as exc:
            board.state, board.reason = "failed", str(exc)[:500]
            return
        request_id = f"upd-{rollout.id}-{uuid.uuid4().hex[:16]}"
        expires_at = now + timedelta(seconds=self.settings.command_expires_s)
        commands.insert_command(
            conn,
            request_id=request_id,
            board_id=board.board_id,
            command=fr.UPDATE_COMMAND,
            args=args,
            note=f"rollout {rollout.id}",
            created_by=ACTOR,
            now=now,
            expires_at=expires_at,
        )
        commands.release(conn, request_id)  # the API's command retry publishes it at once
        audit.record(
            conn,
            ACTOR,
            "command.send",
            target_type="board",
            target_id=board.board_id,
            after={
                "request_id": request_id,
                "command": fr.UPDATE_COMMAND,
                "version": release.version,
                "rollout_id": rollout.id,
                "expires_at": expires_at,
            },
        )
        board.state, board.reason = "sent", None
        board.request_id, board.sent_at = request_id, now


def end(
    conn: Conn,
    rollout: RolloutRow,
    boards: list[BoardRow],
    state: str,
    *,
    reason: str | None,
    now: datetime,
) -> None:
    """Finish ``rollout`` as ``state``: boards not sent yet are cancelled
    (those in flight are still followed)."""
    rollout.state = state  # type: ignore[assignment]
    rollout.reason = reason
    rollout.finished_at, rollout.next_wave_at = now, None
    store.save_rollout(conn, rollout, now)
    for board in boards:
        if board.state in NOT_SENT:
            board.state, board.reason = "cancelled", f"rollout {state}"
            store.save_board(conn, board, now)


def _runs_other(conn: Conn, board: BoardRow, rollout: RolloutRow) -> str | None:
    """Why a board that reports the rollout's version healthy is not counted
    so yet: its newest birth or heartbeat names another version (None: it
    names this one, or none)."""
    running = store.running_version(conn, board.board_id)
    if running is None or running == rollout.version:
        return None
    return f"reported healthy, but its agent runs {running}"[:500]


def _shift(conn: Conn, rollout: RolloutRow, step: timedelta, now: datetime) -> None:
    """Move the timers of a rollout's boards in flight, and its pause, by the
    clock's ``step``: the time they measure is the time that really passed."""
    if rollout.next_wave_at is not None:
        rollout.next_wave_at += step
        store.save_rollout(conn, rollout, now)
    for board in store.boards_of(conn, rollout.id):
        if board.state in IN_FLIGHT:
            board.sent_at = None if board.sent_at is None else board.sent_at + step
            board.installed_at = None if board.installed_at is None else board.installed_at + step
            store.save_board(conn, board, now)


def settings_from(settings: Settings) -> RolloutSettings:
    """The rollout pass's settings from the server's (FLEET_RELEASES_BASE_URL,
    else the console's address with the API's release files path)."""
    base = settings.releases_base_url
    if base is None and settings.console_base_url:
        base = f"{settings.console_base_url.rstrip('/')}{FILES_PATH}"
    return RolloutSettings(
        base_url=base,
        every_s=settings.rollout_every_s,
        command_expires_s=settings.rollout_command_expires_s,
        window_margin_s=settings.rollout_window_margin_s,
    )
