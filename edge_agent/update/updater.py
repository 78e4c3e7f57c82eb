"""The main-thread half of updates: the ``update`` command, the events, and
whether a freshly switched version stays (healthy) or goes (rolled back).

A new version is healthy once its session is up (birth published) and a
heartbeat collected after that has been delivered. If the deadline of the
state file passes first, it points ``current`` back at ``previous`` and exits;
the deadline is kept on the monotonic clock from the agent's start (what is
left of it then, never more than ``health_deadline_s``), so a wall clock
stepped by NTP during the trial neither rolls back a good version nor keeps
a bad one forever;
the previous version, started again, reports ``rolled_back``. A version that
never gets that far (it crashes at start, or never starts Python) is rolled
back by the boot guard (``bin/edge-agent-guard``) before its next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

import fleet_protocol as fp
from edge_agent.update import layout
from edge_agent.update.settings import UpdateConfig
from edge_agent.update.state import StateFile, UpdateRecord
from edge_agent.update.worker import Report, Worker, details
from fleet_protocol.releases import (
    UPDATE_EVENT,
    ReleaseRefused,
    UpdateArgs,
    check_update_args,
    verify,
)

log = logging.getLogger(__name__)

_MESSAGES = {
    "downloading": "downloading agent {version}",
    "downloaded": "agent {version} downloaded and verified",
    "installed": "agent {version} installed: restarting",
    "healthy": "agent {version} is up and healthy",
    "rolled_back": "agent {version} rolled back to {previous}",
    "failed": "update to agent {version} failed",
}


class Emit(Protocol):
    def __call__(
        self, event_type: str, severity: str, message: str, details: dict[str, Any] | None = None
    ) -> None: ...


@dataclass(frozen=True)
class HealthProbe:
    """What the agent tells about its health: its session is up (birth
    published), a heartbeat taken now (False: none taken), and how many
    messages the broker has acknowledged (it grows once the heartbeat is out)."""

    ready: Callable[[], bool]
    collect_heartbeat: Callable[[], bool]
    published: Callable[[], int]


class Updater:
    def __init__(
        self,
        config: UpdateConfig,
        running: str,
        emit: Emit,
        probe: HealthProbe,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.running = running
        self._emit = emit
        self._probe = probe
        self._clock = clock
        self._monotonic = monotonic
        #: on the monotonic clock: when the version on trial has had its time
        self._trial_ends = 0.0
        self.store = StateFile(config.state_path)
        self.stopping = threading.Event()
        #: set once the switch is reported: the agent exits for the supervisor to restart it
        self.exit_requested = threading.Event()
        self._worker: Worker | None = None
        self._trying: UpdateRecord | None = None
        self._published_at: int | None = None

    # -- start and stop --------------------------------------------------------
    def start(self) -> None:
        """At agent start: resume a download, watch a new version, report an outcome."""
        try:
            self._start()
        except OSError as exc:  # a read-only or full disk: the agent runs on regardless
            log.error("update state not handled at start: %s", exc)

    def _start(self) -> None:
        record = self.store.load()
        if record is None:
            return
        if record.state in ("downloading", "downloaded"):
            self._start_worker(record)
        elif record.state == "trying" and record.version == self.running:
            left = min(max(record.deadline - self._clock(), 0.0), float(record.health_deadline_s))
            log.info("agent %s on trial for %.0f s", record.version, left)
            self._trial_ends = self._monotonic() + left
            self._trying = record
        elif record.state == "trying":
            # started as another version than the one on trial: something put it back
            self._finish(replace(record, state="rolled_back", reason=f"started as {self.running}"))
        elif (
            record.state in ("rolled_back", "failed")
            and not record.reported
            # a rollback is reported by the version the board went back to
            and (record.state == "failed" or record.previous == self.running)
        ):
            self._finish(record)

    def close(self) -> None:
        self.stopping.set()
        if self._worker is not None:
            self._worker.thread.join(5)

    # -- the command -------------------------------------------------------------
    def command(self, args: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
        """(status, output, error) of the ``update`` command."""
        try:
            checked = check_update_args(args)
            verify(checked.manifest, self.config.trusted_keys())
        except fp.ProtocolError as exc:
            return "rejected", None, exc.detail
        except ReleaseRefused as exc:
            return "rejected", None, exc.reason
        record = self.store.load()
        if record is not None and record.in_progress:
            if record.version == checked.version:
                return "ok", {"state": "accepted"}, None
            return "rejected", None, f"update to {record.version} in progress ({record.state})"
        if checked.version == self.running:
            return "ok", {"state": "healthy", "already": True}, None
        return self._begin(checked)

    def _begin(self, checked: UpdateArgs) -> tuple[str, dict[str, Any] | None, str | None]:
        if layout.active_version(self.config) is None:
            return "rejected", None, f"{self.config.current} is not a link: not the release layout"
        if self._worker is not None:  # finished (its record is final), or about to be
            self._worker.thread.join(5)
        self._drain()  # what the last worker had to tell goes out before it is forgotten
        record = UpdateRecord(
            state="downloading",
            version=checked.version,
            url=checked.url,
            manifest=checked.manifest.model_dump(mode="json"),
            rollout_id=checked.rollout_id,
            health_deadline_s=checked.health_deadline_s,
            previous=self.running,
        )
        try:
            self.store.save(record)
        except OSError as exc:  # a full or read-only disk: nothing started
            return "rejected", None, f"update state not written: {exc.strerror or exc}"
        self._start_worker(record)
        return "ok", {"state": "accepted"}, None

    def _start_worker(self, record: UpdateRecord) -> None:
        self._worker = Worker(self.config, self.store, record, self.stopping, self._clock)
        self._worker.start()

    # -- every turn of the main loop ----------------------------------------------
    def tick(self) -> None:
        try:
            self._drain()
            if self._trying is not None:
                self._watch(self._trying)
        except OSError as exc:  # never fatal; the boot guard still holds the deadline
            log.error("update step failed: %s", exc)
            self._trying = None

    def _drain(self) -> None:
        if self._worker is not None:
            while self._worker.events:
                self._send(self._worker.events.popleft())

    def _send(self, report: Report) -> None:
        severity = "error" if report.state in ("failed", "rolled_back") else "info"
        text = _MESSAGES[report.state].format(
            version=report.details.get("version"), previous=report.details.get("previous")
        )
        self._emit(UPDATE_EVENT, severity, text, {"state": report.state, **report.details})
        if report.final:
            record = self.store.load()
            if record is not None:
                self.store.save(replace(record, reported=True))
        if report.exit:
            self.exit_requested.set()

    def _watch(self, record: UpdateRecord) -> None:
        if self._monotonic() >= self._trial_ends:
            self._trying = None
            reason = f"deadline passed: not healthy within {record.health_deadline_s} s"
            log.error("agent %s %s: rolling back to %s", record.version, reason, record.previous)
            self._roll_back(record, reason)
            return
        if not self._probe.ready():
            return
        if self._published_at is None:
            if self._probe.collect_heartbeat():
                self._published_at = self._probe.published()
            return
        if self._probe.published() > self._published_at:
            self._trying = None
            self._finish(replace(record, state="healthy", boot_attempts=0))
            layout.install_guard(self.config, record.version)  # proven now: its guard judges next
            layout.clear_downloads(self.config)
            removed = layout.prune(self.config)
            if removed:
                log.info("old releases removed: %s", ", ".join(removed))

    def _roll_back(self, record: UpdateRecord, reason: str) -> None:
        if record.previous is None:
            return
        layout.install_guard(self.config, record.previous)
        layout.point(self.config.current, record.previous)
        self.store.save(replace(record, state="rolled_back", reason=reason, reported=False))
        self.exit_requested.set()  # the previous version reports it

    def _finish(self, record: UpdateRecord) -> None:
        """Send the outcome of ``record`` and mark it reported."""
        extra = {"reason": record.reason} if record.state != "healthy" else {}
        self.store.save(replace(record, reported=False))
        self._send(Report(record.state, details(record, **extra), final=True))
