"""One evaluation pass of the engine, rule by rule: connectivity (boards lost
or stale, whole-site outages), telemetry rules and the content rule. Every
rule advances its condition through :func:`step_incident`, which opens, flags
or resolves the incident through ``incidents.lifecycle``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import psycopg

from fleet_server.engine import alerts, service_offline, storage, telemetry_rules
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
from fleet_server.incidents import lifecycle
from fleet_server.incidents.models import Incident, IncidentSpec, InvalidTransition

log = logging.getLogger(__name__)

ACTOR = "engine"

Conn = psycopg.Connection[Any]


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
    #: a board incident waits this long for its site's outage before notices go
    confirm_board_s: float = 0.0

    @classmethod
    def of(
        cls,
        conn: Conn,
        now: datetime,
        result: PassResult,
        loaded: Loaded,
        *,
        confirm_board_s: float = 0.0,
    ) -> Pass:
        return cls(conn, now, result, loaded.conds, loaded.open_, confirm_board_s)


def run_connectivity_rules(
    pass_: Pass,
    places: dict[str, storage.BoardPlace],
    statuses: dict[str, Any],
    rules: RuleSettings,
    *,
    dirty: set[str],
) -> None:
    """Connectivity rules: board lost/stale, then whole-site outages."""
    conn, now = pass_.conn, pass_.now
    conds, open_ = pass_.conds, pass_.open_
    candidates = _running_boards(dirty, conds, open_)
    site_over, board_over = storage.rule_overrides(conn)
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
            if observed and spec.dedupe_key not in open_:
                spec = service_offline.with_cause(conn, spec, status, now)  # for its notice
            incident = step_incident(pass_, spec, observed, timing)
            opened = incident is not None and incident.id in pass_.result.opened
            service_offline.after_step(conn, incident, status, now, opened=opened)
    site_ids = {places[b].site_id for b in candidates if b in places}
    site_ids |= {
        int(key.owner_id)
        for key in map(DedupeKey.parse, (*conds, *open_))
        if key and key.owner == "site"
    }
    members = [p for p in places.values() if p.site_id in site_ids]
    down = [
        p.board_id
        for p in members
        if p.board_id in statuses and statuses[p.board_id].state in ("lost", "stale")
    ]
    outages = site_outages(members, statuses, storage.last_power(conn, down), rules)
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
        if outage is not None and key not in open_:
            gone = [statuses[b] for b in outage.boards if b in statuses]
            spec = service_offline.with_site_cause(conn, spec, gone, now)
        incident = step_incident(pass_, spec, outage is not None, timing)
        if incident is not None and outage is not None and incident.state != "resolved":
            attach_boards(conn, incident, outage.boards, open_, now)


def attach_boards(
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


def run_telemetry_rules(
    pass_: Pass,
    places: dict[str, storage.BoardPlace],
    statuses: dict[str, Any],
    *,
    profile: dict[str, dict[str, Any]] | None = None,
    data_budget_default: int | None = None,
) -> None:
    """Telemetry rules on every running board. ``profile`` changes the
    rules' defaults for the whole fleet (the demo's shorter holds,
    ``EngineSettings.telemetry_params``); site and board overrides still win."""
    conn, now = pass_.conn, pass_.now
    window = float(telemetry_rules.DEFAULTS["network_degraded"]["window_s"])
    inputs = storage.telemetry_inputs(conn, now, window, data_budget_default=data_budget_default)
    site_overrides, board_overrides = storage.rule_overrides(conn)
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
            [
                profile or {},
                site_overrides.get(place.site_id, {}),
                board_overrides.get(board_id, {}),
            ]
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
            step_incident(pass_, spec, observation.observed, timing)
    alerts.resolve_orphans(conn, set(places), now)


def run_content_rule(
    pass_: Pass,
    places: dict[str, storage.BoardPlace],
    *,
    since: datetime | None,
    profile: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Every pass, not every telemetry round: unapproved content on a
    public screen is a security incident at once (Điều 9.3)."""
    approved = storage.approved_content(pass_.conn)
    params = telemetry_rules.merged_params([profile or {}])["content_unapproved"]
    for board_id, (display, observed_at) in storage.displays(pass_.conn, since).items():
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
        step_incident(pass_, spec, observation.observed, timing)


def step_incident(
    pass_: Pass, spec: IncidentSpec, observed: bool, timing: Timing
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
        storage.save_condition(conn, cond, now)
        conds[key] = cond
    actor = f"{ACTOR}:{spec.rule}"
    confirm_board_s = pass_.confirm_board_s
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


def _running_boards(
    dirty: set[str], conds: dict[str, Condition], open_: dict[str, Incident]
) -> set[str]:
    """Boards whose connectivity rules need evaluating: the state changed, or
    a condition or incident is still running (its timers must advance)."""
    boards = set(dirty)
    for text in (*conds, *open_):
        key = DedupeKey.parse(text)
        if key and key.owner == "board" and key.rule in ("board_lost", "board_stale"):
            boards.add(key.owner_id)
    return boards


def _timing(default: Timing, overrides: list[dict[str, Any]]) -> Timing:
    """A rule's for/clear-for with the site's and then the board's overrides."""
    for_s, clear_for_s = default.for_s, default.clear_for_s
    for override in overrides:
        for_s = float(override.get("for_s", for_s))
        clear_for_s = float(override.get("clear_for_s", clear_for_s))
    return replace(default, for_s=for_s, clear_for_s=clear_for_s)
