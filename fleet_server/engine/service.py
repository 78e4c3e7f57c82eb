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
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from fleet_server.backoff import Backoff
from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.rules import ComplianceSettings
from fleet_server.engine import alerts, store, telemetry_rules
from fleet_server.engine.alerts import AlertSettings
from fleet_server.engine.conditions import Condition, Timing, step
from fleet_server.engine.keys import DedupeKey
from fleet_server.engine.rules import (
    RuleSettings,
    board_conditions,
    board_key,
    board_spec,
    site_key,
    site_outages,
    site_spec,
)
from fleet_server.engine.state import (
    BoardStatus,
    apply_heartbeat,
    apply_report,
    check_stale,
    unknown,
)
from fleet_server.incidents import lifecycle
from fleet_server.incidents import storage as incidents
from fleet_server.incidents.models import Incident, IncidentSpec, InvalidTransition
from fleet_server.metrics import EngineMetrics, new_registry
from fleet_server.telemetry import maintenance

log = logging.getLogger(__name__)

LOCK_KEY = 0x666C656E  # "flen": the engine leader lock
CHANNEL = "fleet_ingest"
#: no heartbeat from any board for this long, with at least this many online:
#: the pipeline stalled, not the boards
_SILENCE_S = 60.0
_SILENCE_MIN_ONLINE = 10
ACTOR = "engine"

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


@dataclass(frozen=True, slots=True)
class Loaded:
    conds: dict[str, Condition]
    open_: dict[str, Incident]


@dataclass
class PassResult:
    transitions: int = 0
    opened: list[int] = field(default_factory=list)
    resolved: list[int] = field(default_factory=list)
    tickets: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Pass:
    """One evaluation pass as every rule shares it: its transaction, its
    time, what it has done so far, and the rule conditions and unresolved
    incidents read at its start (kept current by every rule)."""

    conn: Conn
    now: datetime
    result: PassResult
    conds: dict[str, Condition]
    open_: dict[str, Incident]

    @classmethod
    def of(cls, conn: Conn, now: datetime, result: PassResult, loaded: Loaded) -> Pass:
        return cls(conn, now, result, loaded.conds, loaded.open_)


class Engine:
    def __init__(
        self,
        database_url: str,
        settings: EngineSettings | None = None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        metrics: EngineMetrics | None = None,
    ) -> None:
        self.database_url = database_url
        self.settings = settings or EngineSettings()
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
        self._places: dict[str, store.BoardPlace] | None = None
        self._places_at = 0.0
        self._telemetry_due: datetime | None = None
        self.compliance = ComplianceJob(
            self.settings.compliance,
            on_opened=lambda conn, inc, now: lifecycle.notify_opened(
                conn, inc, now, confirm_board_s=self.settings.alerts.confirm_board_s
            ),
        )

    # -- one evaluation -----------------------------------------------------------------
    def evaluate(self, conn: Conn) -> PassResult:
        """One pass in one transaction. ``conn`` is the engine's own, in
        autocommit mode, so the pass really commits when it ends."""
        result = PassResult()
        started = time.perf_counter()
        now = self._clock()
        try:
            with conn.transaction():
                db_now = conn.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
                since = (
                    None
                    if self._cursor is None
                    else (self._cursor - timedelta(seconds=self.settings.overlap_s))
                )
                # As the only active engine, it keeps board status in memory
                # between passes (the table is written through); reloaded
                # after any failure and whenever it becomes the leader.
                if self._statuses is None:
                    self._statuses = store.statuses(conn)
                    self._persisted = set(self._statuses)
                    self._seen_unsaved = {}
                if self._places is None or time.monotonic() - self._places_at > 60:
                    self._places, self._places_at = store.boards(conn), time.monotonic()
                places = self._places
                statuses = dict(self._statuses)
                dirty: set[str] = set()
                result.transitions += self._apply_inputs(conn, statuses, since, now, dirty)
                # Rule conditions and unresolved incidents: read once per pass,
                # shared (and kept current) by every rule below.
                loaded = Loaded(store.conditions(conn, ""), incidents.unresolved_keys(conn))
                self._run_rules(conn, places, statuses, now, result, dirty=dirty, loaded=loaded)
                full_round = self._telemetry_due is None or now >= self._telemetry_due
                pass_ = Pass.of(conn, now, result, loaded)
                self._run_content_rule(pass_, places, since=None if full_round else since)
                if full_round:
                    self._run_telemetry_rules(pass_, places, statuses)
                    self._telemetry_due = now + timedelta(seconds=self.settings.telemetry_every_s)
                    alerts.reminders_and_escalation(conn, now, self.settings.alerts)
                    result.tickets += alerts.auto_tickets(conn, now, self.settings.alerts)
                    result.tickets += alerts.preventive_tickets(conn, now)
                    store.prune_conditions(conn, now)
                    store.save_last_seen(conn, self._seen_unsaved)
                    self._seen_unsaved = {}
                    self._storage_upkeep(conn, now)
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
        for board_id, report in store.state_reports(conn, since):
            current = statuses.get(board_id) or unknown(board_id, report.received_at)
            transition = apply_report(current, report)
            if transition is not None:
                store.save_transition(conn, transition, now)
                statuses[board_id] = transition.after
                count += transition.changed
                if transition.changed:
                    dirty.add(board_id)
        for board_id, received_at in store.heartbeats(conn, since):
            current = statuses.get(board_id) or unknown(board_id, received_at)
            transition = apply_heartbeat(current, received_at)
            if transition is None:
                continue
            statuses[board_id] = transition.after
            if transition.changed or board_id not in self._persisted:
                store.save_transition(conn, transition, now)
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
                store.save_transition(conn, transition, now)
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
            self._plain = maintenance.is_plain(conn)
        if self._plain and (self._rollups_due is None or now >= self._rollups_due):
            maintenance.refresh_rollups(conn, now - timedelta(hours=2), now)
            self._rollups_due = now + timedelta(minutes=10)
        if self._retention_due is None or now >= self._retention_due:
            if self._plain:
                maintenance.apply_retention(conn, now)
            maintenance.apply_derived_retention(conn, now)
            self._retention_due = now + timedelta(days=1)

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

    def _run_rules(
        self,
        conn: Conn,
        places: dict[str, store.BoardPlace],
        statuses: dict[str, Any],
        now: datetime,
        result: PassResult,
        *,
        dirty: set[str],
        loaded: Loaded,
    ) -> None:
        """Connectivity rules: board lost/stale, then whole-site outages."""
        rules = self.settings.rules
        conds, open_ = loaded.conds, loaded.open_
        pass_ = Pass.of(conn, now, result, loaded)
        candidates = _running_boards(dirty, conds, open_)
        site_over, board_over = store.rule_overrides(conn)
        for board_id in candidates:
            status = statuses.get(board_id)
            if status is None:
                continue
            place = places.get(board_id)
            for rule, observed in board_conditions(status).items():
                spec = board_spec(rule, place, status)
                site_params = site_over.get(place.site_id, {}) if place else {}
                timing = _timing(
                    getattr(rules, rule),
                    [site_params.get(rule, {}), board_over.get(board_id, {}).get(rule, {})],
                )
                self._step(pass_, spec, observed, timing)
        site_ids = {places[b].site_id for b in candidates if b in places}
        site_ids |= {int(k.split(":")[1]) for k in (*conds, *open_) if k.startswith("site:")}
        members = [p for p in places.values() if p.site_id in site_ids]
        down = [
            p.board_id
            for p in members
            if p.board_id in statuses and statuses[p.board_id].state in ("lost", "stale")
        ]
        outages = site_outages(members, statuses, store.last_power(conn, down), rules)
        for site_id in site_ids:
            key = site_key(site_id, "site_outage")
            outage = outages.get(site_id)
            if outage is None and key not in open_ and key not in conds:
                continue
            spec = (
                site_spec(outage)
                if outage
                else IncidentSpec(
                    key, "site_outage", "technical", "critical", "site back", site_id=site_id
                )
            )
            timing = _timing(rules.site_outage, [site_over.get(site_id, {}).get("site_outage", {})])
            incident = self._step(pass_, spec, outage is not None, timing)
            if incident is not None and outage is not None and incident.state != "resolved":
                self._attach_boards(conn, incident, outage.boards, open_, now)

    @staticmethod
    def _attach_boards(
        conn: Conn,
        site_incident: Incident,
        boards: tuple[str, ...],
        open_: dict[str, Incident],
        now: datetime,
    ) -> None:
        for board_id in boards:
            for rule in ("board_lost", "board_stale"):
                child = open_.get(board_key(board_id, rule))
                if child is not None and child.parent_id is None:
                    lifecycle.attach(conn, child, site_incident, now, actor=ACTOR)

    def _run_telemetry_rules(
        self, pass_: Pass, places: dict[str, store.BoardPlace], statuses: dict[str, Any]
    ) -> None:
        conn, now = pass_.conn, pass_.now
        window = float(telemetry_rules.DEFAULTS["network_degraded"]["window_s"])
        inputs = store.telemetry_inputs(conn, now, window)
        site_overrides, board_overrides = store.rule_overrides(conn)
        active_by_board: dict[str, set[DedupeKey]] = {}
        for text, cond in pass_.conds.items():
            key = DedupeKey.parse(text)
            if cond.active and key is not None and key.owner == "board":
                active_by_board.setdefault(key.owner_id, set()).add(key)
        open_cameras: dict[str, set[str]] = {}
        for text in pass_.open_:
            key = DedupeKey.parse(text)
            if key and key.owner == "board" and key.rule == "camera_unreachable" and key.subject:
                open_cameras.setdefault(key.owner_id, set()).add(key.subject)
        for board_id, place in places.items():
            status = statuses.get(board_id)
            if status is None or status.state not in ("online", "stale"):
                continue  # a lost or stopped board's last readings are not news
            params = telemetry_rules.merged_params(
                [site_overrides.get(place.site_id, {}), board_overrides.get(board_id, {})]
            )
            active = active_by_board.get(board_id, set())
            board = inputs.get(board_id, telemetry_rules.BoardInputs())
            freshness = 3.0 * status.interval_s * 2
            observations = telemetry_rules.evaluate(
                board, params, {k.suffix for k in active}, now, freshness
            )
            if telemetry_rules.is_fresh(board.camera, now, freshness):
                # a camera taken off the board (or renamed) is no longer failing
                seen = {o.subject for o in observations if o.rule == "camera_unreachable"}
                running = open_cameras.get(board_id, set()) | {
                    k.subject for k in active if k.rule == "camera_unreachable" and k.subject
                }
                observations += [
                    telemetry_rules.Observation(
                        "camera_unreachable", False, {"why": "no longer reported"}, subject=camera
                    )
                    for camera in sorted(running - seen)
                ]
            for observation in observations:
                if observation.observed is None:
                    continue
                spec, timing = telemetry_rules.incident_for(
                    observation,
                    board_id,
                    place=(place.site_id, place.organisation_id),
                    params=params[observation.rule],
                )
                self._step(pass_, spec, observation.observed, timing)
        alerts.resolve_orphans(conn, set(places), now)

    def _run_content_rule(
        self, pass_: Pass, places: dict[str, store.BoardPlace], *, since: datetime | None
    ) -> None:
        """Every pass, not every telemetry round: unapproved content on a
        public screen is a security incident at once (Điều 9.3)."""
        approved = store.approved_content(pass_.conn)
        params = telemetry_rules.DEFAULTS["content_unapproved"]
        for board_id, (display, observed_at) in store.displays(pass_.conn, since).items():
            place = places.get(board_id)
            # approved *when it was shown* (by the server's clock), not now
            observation = telemetry_rules.content_check(display, approved, observed_at)
            if observation.observed is None or place is None:
                continue
            spec, timing = telemetry_rules.incident_for(
                observation,
                board_id,
                place=(place.site_id, place.organisation_id),
                params=params,
            )
            self._step(pass_, spec, observation.observed, timing)

    def _step(
        self, pass_: Pass, spec: IncidentSpec, observed: bool, timing: Timing
    ) -> Incident | None:
        """Advance the condition ``spec`` names with an observation; open,
        flag or resolve its incident as the condition says."""
        conn, now, result = pass_.conn, pass_.now, pass_.result
        conds, open_ = pass_.conds, pass_.open_
        key = spec.dedupe_key
        existing = open_.get(key)
        before = conds.get(key)
        if before is None and not observed and existing is None:
            return None
        cond = before or Condition(key, spec.rule)
        cond, actions = step(
            cond,
            observed,
            now,
            timing,
            incident_open=existing is not None,
            flagged_flapping=bool(existing and existing.flapping),
        )
        if cond != before:
            store.save_condition(conn, cond, now)
            conds[key] = cond
        actor = f"{ACTOR}:{spec.rule}"
        confirm_board_s = self.settings.alerts.confirm_board_s
        for action in actions:
            if action == "open":
                existing, outcome = lifecycle.open_incident(
                    conn, spec, now, actor=actor, confirm_board_s=confirm_board_s
                )
                open_[key] = existing
                if outcome != "existing":
                    result.opened.append(existing.id)
                    log.info("incident %d %s: %s", existing.id, outcome, spec.title)
            elif action == "flapping" and existing is not None:
                lifecycle.mark_flapping(conn, existing.id, now, actor=actor)
            elif action == "resolve" and existing is not None:
                open_.pop(key, None)
                try:
                    existing = lifecycle.resolve(
                        conn,
                        existing.id,
                        now,
                        actor=actor,
                        note="condition cleared",
                        confirm_board_s=confirm_board_s,
                    )
                except InvalidTransition:
                    continue  # resolved by hand meanwhile: nothing left to do
                result.resolved.append(existing.id)
        return existing

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
            self.database_url, autocommit=True, application_name="fleet-engine"
        ) as lock_conn:
            row = lock_conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()
            if not row or not row[0]:
                self.is_leader.clear()
                stop.wait(self.settings.standby_retry_s)
                return
            log.info("engine is the active engine")
            self._statuses = self._places = None  # another engine may have written meanwhile
            self._cursor = None
            self.is_leader.set()
            lock_conn.execute(f"LISTEN {CHANNEL}")
            # Compliance (closing a broadcast day reads every board's display
            # samples) runs beside the passes, never inside one.
            led = threading.Event()
            compliance = threading.Thread(
                target=self._compliance_loop, args=(led, stop), name="compliance", daemon=True
            )
            compliance.start()
            with psycopg.connect(
                self.database_url, autocommit=True, application_name="fleet-engine"
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
                    self.database_url, autocommit=True, application_name="fleet-compliance"
                ) as conn:
                    while not (ended.is_set() or stop.is_set()):
                        self.run_compliance(conn)
                        ended.wait(self.settings.compliance.every_s)
            except Exception:  # never fatal: logged, retried on the next round
                log.exception("compliance job failed; retrying")
                ended.wait(self.settings.compliance.every_s)


def _running_boards(
    dirty: set[str], conds: dict[str, Condition], open_: dict[str, Incident]
) -> set[str]:
    """Boards whose connectivity rules need evaluating: the state changed, or
    a condition or incident is still running (its timers must advance)."""
    boards = set(dirty)
    for key in (*conds, *open_):
        parts = key.split(":")
        if parts[0] == "board" and parts[2] in ("board_lost", "board_stale"):
            boards.add(parts[1])
    return boards


def _timing(default: Timing, overrides: list[dict[str, Any]]) -> Timing:
    """A rule's for/clear-for with the site's and then the board's overrides."""
    for_s, clear_for_s = default.for_s, default.clear_for_s
    for override in overrides:
        for_s = float(override.get("for_s", for_s))
        clear_for_s = float(override.get("clear_for_s", clear_for_s))
    return replace(default, for_s=for_s, clear_for_s=clear_for_s)
