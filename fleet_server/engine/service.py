"""The engine loop: one active engine (PostgreSQL advisory lock), others
stand by and take over. Each pass, in one transaction: apply new state
messages and heartbeats to board status, mark silent boards stale, then run
the rules and open, flag or resolve incidents. Ingest NOTIFYs
``fleet_ingest`` when it stores a state message, so a last will becomes
"lost" (and an incident) within a second, not at the next tick.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from fleet_server.availability.days import AvailabilityDaysJob
from fleet_server.backoff import Backoff
from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings
from fleet_server.content.files import FileStore, StoreUnavailable
from fleet_server.content.service_files import apply_file_retention
from fleet_server.content.service_suppliers import queue_overdue_notices
from fleet_server.datausage.push import DataBudgetJob
from fleet_server.db.connect import conninfo
from fleet_server.engine import alerts, passes, storage
from fleet_server.engine.alerts import AlertSettings
from fleet_server.engine.passes import Loaded, Pass, PassResult
from fleet_server.engine.rules import RuleSettings
from fleet_server.engine.state import (
    BoardStatus,
    apply_heartbeat,
    apply_report,
    check_stale,
    unknown,
)
from fleet_server.incidents import storage as incidents
from fleet_server.metrics import EngineMetrics, new_registry
from fleet_server.reports import reminders as report_reminders
from fleet_server.rollouts.job import RolloutJob, RolloutSettings
from fleet_server.telemetry import storage_upkeep as upkeep

log = logging.getLogger(__name__)

LOCK_KEY = 0x666C656E  # "flen": the engine leader lock
CHANNEL = "fleet_ingest"
#: no heartbeat from any board for this long, with at least this many online:
#: the pipeline stalled, not the boards
_SILENCE_S = 60.0
_SILENCE_MIN_ONLINE = 10

Conn = psycopg.Connection[Any]


@dataclass(frozen=True, slots=True)
class EngineSettings:
    tick_s: float = 1.0
    #: re-read this much before the cursor: a transaction that committed late
    overlap_s: float = 10.0
    standby_retry_s: float = 5.0
    #: telemetry rules read more data: run them this often (0 = every pass)
    telemetry_every_s: float = 15.0
    rules: RuleSettings = field(default_factory=RuleSettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    compliance: ComplianceSettings = field(default_factory=ComplianceSettings)
    #: remind this many days before the report deadlines of Điều 14 (0: never)
    report_reminder_days: int = 7
    #: the broadcast file archive (Điều 9.1) whose retention runs with the
    #: play log's; None: not run here
    content_files: FileStore | None = None
    content_files_keep_days: int = upkeep.ROLLUP_DAYS
    #: days the boards' screen and camera pictures are kept
    snapshot_keep_days: int = upkeep.SNAPSHOT_KEEP_DAYS
    #: days the boards' log and diagnostics bundles are kept
    log_bundle_keep_days: int = upkeep.LOG_BUNDLE_KEEP_DAYS
    #: days each board's daily 4G data usage is kept
    data_usage_keep_days: int = upkeep.DATA_USAGE_KEEP_DAYS
    #: the telemetry rules' defaults changed for the whole fleet, e.g.
    #: ``{"mains_lost": {"for_s": 20}}`` (the demo's rule profile,
    #: simulator/profile.py); empty: docs/engine.md's defaults
    telemetry_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: agent rollouts (docs/updates.md): a pass every ``rollouts.every_s``
    rollouts: RolloutSettings = field(default_factory=RolloutSettings)
    #: every board's monthly 4G data budget in bytes where neither it nor its
    #: site has one (FLEET_DATA_BUDGET_MB); None: no default
    data_budget_default: int | None = None
    #: FLEET_DATA_BUDGET_AGENT_VERSION: boards whose agent says this version
    #: or later are told their budget (docs/data-budget.md)
    data_budget_agent_version: str | None = None
    #: FLEET_DB_JIT: false turns JIT off on the engine's connections (db/connect.py)
    db_jit: bool = False


class Engine:
    def __init__(
        self,
        database_url: str,
        settings: EngineSettings | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.settings = settings or EngineSettings()
        self.conninfo = conninfo(database_url, jit=self.settings.db_jit)
        self._clock = clock
        self._cursor: datetime | None = None
        self.is_leader = threading.Event()
        self.metrics = metrics or EngineMetrics(new_registry(process=False))
        self.metrics.track_leader(self.is_leader)
        self.passes = 0
        self._statuses: dict[str, BoardStatus] | None = None
        # last heartbeat times not written yet (board_status.last_seen_at is
        # flushed every telemetry round, not at every heartbeat)
        self._seen_unsaved: dict[str, datetime] = {}
        self._silence_logged = False
        self._plain: bool | None = None
        self._rollups_due: datetime | None = None
        self._retention_due: datetime | None = None
        self.pipeline_silent = False
        self._persisted: set[str] = set()
        self._places: dict[str, storage.BoardPlace] | None = None
        self._places_at = 0.0
        self._telemetry_due: datetime | None = None
        self.compliance = ComplianceJob(self.settings.compliance)
        self.rollouts = RolloutJob(self.settings.rollouts)
        self.data_budgets = DataBudgetJob(self.settings.data_budget_agent_version)
        self.availability_days = AvailabilityDaysJob()

    # -- one evaluation -----------------------------------------------------------------
    def evaluate(self, conn: Conn) -> PassResult:
        """One pass in one transaction. ``conn`` is the engine's own, in
        autocommit mode, so the pass really commits when it ends."""
        result = PassResult()
        started = time.perf_counter()
        now = self._clock()
        try:
            with conn.transaction():
                db_now = storage.database_now(conn)
                since = (
                    None
                    if self._cursor is None
                    else (self._cursor - timedelta(seconds=self.settings.overlap_s))
                )
                # As the only active engine, it keeps board status in memory
                # between passes (the table is written through); reloaded
                # after any failure and whenever it becomes the leader.
                if self._statuses is None:
                    self._statuses = storage.statuses(conn)
                    self._persisted = set(self._statuses)
                    self._seen_unsaved = {}
                if self._places is None or time.monotonic() - self._places_at > 60:
                    self._places, self._places_at = storage.boards(conn), time.monotonic()
                places = self._places
                statuses = dict(self._statuses)
                dirty: set[str] = set()
                result.transitions += self._apply_inputs(conn, statuses, since, now, dirty)
                # Rule conditions and unresolved incidents: read once per pass,
                # shared (and kept current) by every rule below.
                loaded = Loaded(storage.conditions(conn, ""), incidents.unresolved_keys(conn))
                pass_ = Pass.of(
                    conn,
                    now,
                    result,
                    loaded,
                    confirm_board_s=self.settings.alerts.confirm_board_s,
                )
                passes.run_connectivity_rules(
                    pass_, places, statuses, self.settings.rules, dirty=dirty
                )
                full_round = self._telemetry_due is None or now >= self._telemetry_due
                profile = self.settings.telemetry_params
                passes.run_content_rule(
                    pass_, places, since=None if full_round else since, profile=profile
                )
                if full_round:
                    passes.run_telemetry_rules(
                        pass_,
                        places,
                        statuses,
                        profile=profile,
                        data_budget_default=self.settings.data_budget_default,
                    )
                    self._telemetry_due = now + timedelta(seconds=self.settings.telemetry_every_s)
                    alerts.reminders_and_escalation(conn, now, self.settings.alerts)
                    result.tickets += alerts.auto_tickets(conn, now, self.settings.alerts)
                    result.tickets += alerts.preventive_tickets(conn, now)
                    alerts.ticket_deadlines(conn, now, self.settings.alerts)
                    report_reminders.queue(conn, now, self.settings.report_reminder_days)
                    queue_overdue_notices(conn, now)  # Điều 10.1.b, 10.1.c
                    storage.prune_conditions(conn, now)
                    storage.save_last_seen(conn, self._seen_unsaved)
                    self._seen_unsaved = {}
                    self._storage_upkeep(conn, now)
                self._round_jobs(conn, now)
        except Exception:
            self._statuses = None
            self.metrics.evaluation_failures.inc()
            raise
        self._statuses = statuses
        self._cursor = db_now
        self.passes += 1
        self.metrics.evaluation_seconds.observe(time.perf_counter() - started)
        return result

    def _apply_inputs(
        self,
        conn: Conn,
        statuses: dict[str, Any],
        since: datetime | None,
        now: datetime,
        dirty: set[str],
    ) -> int:
        count = 0
        for board_id, report in storage.state_reports(conn, since):
            current = statuses.get(board_id) or unknown(board_id, report.received_at)
            transition = apply_report(current, report)
            if transition is not None:
                storage.save_transition(conn, transition, now)
                statuses[board_id] = transition.after
                count += transition.changed
                if transition.changed:
                    dirty.add(board_id)
        for board_id, received_at in storage.heartbeats(conn, since):
            current = statuses.get(board_id) or unknown(board_id, received_at)
            transition = apply_heartbeat(current, received_at)
            if transition is None:
                continue
            statuses[board_id] = transition.after
            if transition.changed or board_id not in self._persisted:
                storage.save_transition(conn, transition, now)
                self._persisted.add(board_id)
                count += transition.changed
                dirty.add(board_id)
            else:
                # Just proof of life: kept in memory, written in batches.
                self._seen_unsaved[board_id] = received_at
        if self._fleet_silent(statuses, now):
            return count  # no stale boards while the pipeline itself is stalled
        places = self._places or {}
        for board_id, current in list(statuses.items()):
            place = places.get(board_id)
            transition = check_stale(current, now, place.heartbeat_interval_s if place else None)
            if transition is not None:
                storage.save_transition(conn, transition, now)
                statuses[board_id] = transition.after
                count += 1
                dirty.add(board_id)
        return count

    def _storage_upkeep(self, conn: Conn, now: datetime) -> None:
        """Daily, the retention of the play log and compliance days (ordinary
        tables on both variants). On plain PostgreSQL also the hourly rollups
        (every 10 min, the last 2 hours) and the raw retention; TimescaleDB's
        own policies do those there."""
        if self._plain is None:
            self._plain = upkeep.is_plain(conn)
        if self._plain and (self._rollups_due is None or now >= self._rollups_due):
            upkeep.refresh_rollups(conn, now - timedelta(hours=2), now)
            self._rollups_due = now + timedelta(minutes=10)
        if self._retention_due is None or now >= self._retention_due:
            if self._plain:
                upkeep.apply_retention(conn, now)
            upkeep.apply_derived_retention(
                conn,
                now,
                snapshot_keep_days=self.settings.snapshot_keep_days,
                log_bundle_keep_days=self.settings.log_bundle_keep_days,
                data_usage_keep_days=self.settings.data_usage_keep_days,
            )
            self._content_file_retention(conn, now)
            self._retention_due = now + timedelta(days=1)

    def _round_jobs(self, conn: Conn, now: datetime) -> None:
        """The jobs with their own rounds, each in a savepoint when due."""
        if self.rollouts.due(now):
            self._in_savepoint("rollout", self.rollouts.run, conn, now)
        if self.data_budgets.due(now):
            self._in_savepoint("data budget", self.data_budgets.run, conn, now)
        if self.availability_days.due(now):  # closed days of availability (migration 0050)
            self._in_savepoint("availability days", self.availability_days.run, conn, now)

    def _in_savepoint(
        self, what: str, job: Callable[[Conn, datetime], object], conn: Conn, now: datetime
    ) -> None:
        """``job`` (the rollouts, the data budgets) in a savepoint: what cannot
        be done is logged and tried again next round; the rules' pass goes on."""
        try:
            with conn.transaction():
                job(conn, now)
        except psycopg.OperationalError:
            raise
        except Exception:
            log.exception("%s pass failed; retrying next round", what)

    def _content_file_retention(self, conn: Conn, now: datetime) -> None:
        """Files nothing needs any more leave the archive (Điều 9.1); a store
        that cannot be reached is retried the next day, the pass goes on."""
        store = self.settings.content_files
        if store is None:
            return
        try:
            apply_file_retention(conn, store, now, self.settings.content_files_keep_days)
        except StoreUnavailable as exc:
            log.warning("content file retention skipped: %s", exc)

    def _fleet_silent(self, statuses: dict[str, Any], now: datetime) -> bool:
        """True when no board at all has been heard from for a while although
        many are online: ingest, the broker or the database stalled — not
        every board at once. Marking them all stale would page every site."""
        newest = max((s.last_seen_at for s in statuses.values() if s.last_seen_at), default=None)
        online = sum(1 for s in statuses.values() if s.state == "online")
        silent = (
            newest is not None
            and online >= _SILENCE_MIN_ONLINE
            and (now - newest).total_seconds() > _SILENCE_S
        )
        if silent and not self._silence_logged:
            log.error(
                "no board heard from for %d s while %d are online: ingest or the "
                "broker stalled? stale detection paused",
                (now - newest).total_seconds() if newest else 0,
                online,
            )
        self._silence_logged = silent
        self.pipeline_silent = silent
        return silent

    # -- the loop -----------------------------------------------------------------------
    def run_forever(self, stop: threading.Event) -> None:
        backoff = Backoff(base=0.5, cap=30)
        while not stop.is_set():
            try:
                self._lead(stop)
                backoff.reset()
            except psycopg.OperationalError as exc:
                self.is_leader.clear()
                log.warning("engine lost the database: %s", str(exc).strip()[:200])
                backoff.wait(stop)
            except Exception:  # a bad pass never stops the engine: log, reload, retry
                self.is_leader.clear()
                self._statuses = None
                log.exception("engine pass failed; retrying")
                backoff.wait(stop)

    def _lead(self, stop: threading.Event) -> None:
        with psycopg.connect(
            self.conninfo, autocommit=True, application_name="fleet-engine"
        ) as lock_conn:
            if not storage.try_lead(lock_conn, LOCK_KEY):
                self.is_leader.clear()
                stop.wait(self.settings.standby_retry_s)
                return
            log.info("engine is the active engine")
            self._statuses = self._places = None  # another engine may have written meanwhile
            self._cursor = None
            self.is_leader.set()
            storage.listen(lock_conn, CHANNEL)
            # Compliance (closing a broadcast day reads every board's display
            # samples) runs beside the passes, never inside one.
            led = threading.Event()
            compliance = threading.Thread(
                target=self._compliance_loop, args=(led, stop), name="compliance", daemon=True
            )
            compliance.start()
            with psycopg.connect(
                self.conninfo, autocommit=True, application_name="fleet-engine"
            ) as work:
                try:
                    while not stop.is_set():
                        self.evaluate(work)
                        for _ in lock_conn.notifies(timeout=self.settings.tick_s, stop_after=1):
                            pass
                finally:
                    led.set()
                    self.is_leader.clear()
                    compliance.join(10)

    def run_compliance(self, conn: Conn) -> dict[str, int]:
        """One run of the compliance job in one transaction (docs/compliance.md)."""
        with conn.transaction():
            return self.compliance.run(conn, self._clock())

    def _compliance_loop(self, ended: threading.Event, stop: threading.Event) -> None:
        """While this engine leads: the compliance job every ``every_s``."""
        while not (ended.is_set() or stop.is_set()):
            try:
                with psycopg.connect(
                    self.conninfo, autocommit=True, application_name="fleet-compliance"
                ) as conn:
                    while not (ended.is_set() or stop.is_set()):
                        self.run_compliance(conn)
                        ended.wait(self.settings.compliance.every_s)
            except Exception:  # never fatal: logged, retried on the next round
                log.exception("compliance job failed; retrying")
                ended.wait(self.settings.compliance.every_s)
