"""When the engine says why a board is offline: as a board's lost/stale
incident (or a site's outage) opens, its likely cause joins the incident's
details, so the notice sent about it names the cause; and once more when the
board is back and what it measured during the outage has arrived (its spool
replay shows the UPS and the link up to the loss: that is when the real
cause becomes visible), with a line in the incident's history either way."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from fleet_server.engine import offline_cause, offline_verdict, offline_words, storage_offline
from fleet_server.engine.state import BoardStatus
from fleet_server.incidents import storage as incidents
from fleet_server.incidents.models import Incident, IncidentSpec

log = logging.getLogger(__name__)

ACTOR = "engine:offline_cause"
KEY = "offline_cause"
RULES = ("board_lost", "board_stale")

Conn = Any


def loss_of(status: BoardStatus) -> tuple[datetime, datetime]:
    """(silent from, declared gone at) of a lost or stale board."""
    if status.state == "stale":
        silent = status.last_seen_at or status.since - timedelta(seconds=3 * status.interval_s)
        return silent, status.since
    return (status.last_seen_at or status.since), status.since


def explain_board(conn: Conn, status: BoardStatus, now: datetime) -> dict[str, Any]:
    """The stored form of the cause of ``status``'s board being down now."""
    silent, lost = loss_of(status)
    evidence = storage_offline.gather(
        conn,
        status.board_id,
        state=status.state,
        silent_from=min(silent, lost),
        lost_at=lost,
        boot=status.boot,
        interval_s=status.interval_s,
        now=now,
    )
    return offline_verdict.to_json(offline_cause.explain(evidence), evidence)


def with_cause(conn: Conn, spec: IncidentSpec, status: BoardStatus, now: datetime) -> IncidentSpec:
    """``spec`` (a board about to be lost/stale) with its cause in its
    details, so the incident's first notice already names it."""
    if spec.rule not in RULES or status.state not in ("lost", "stale"):
        return spec
    return replace(spec, details={**spec.details, KEY: explain_board(conn, status, now)})


def with_site_cause(
    conn: Conn, spec: IncidentSpec, statuses: list[BoardStatus], now: datetime
) -> IncidentSpec:
    """A site outage's spec with the cause its boards' evidence points to."""
    down = [s for s in statuses if s.state in ("lost", "stale")]
    if not down:
        return spec
    stored = [explain_board(conn, s, now) for s in down]
    site = offline_cause.explain_site(offline_verdict.from_json(s) for s in stored)
    first = stored[0]
    data = {**first, "board_id": None, "boards": [s.board_id for s in down]}
    data.update(offline_verdict.causes_json(site))
    return replace(spec, details={**spec.details, KEY: data})


def after_step(
    conn: Conn,
    incident: Incident | None,
    status: BoardStatus | None,
    now: datetime,
    *,
    opened: bool,
) -> None:
    """After a board's lost/stale incident was stepped: note the cause in its
    history when it opened; revise it once when the board is back and its
    spool has drained (or when the incident resolves)."""
    if incident is None or status is None or incident.rule not in RULES:
        return
    stored = storage_offline.stored_cause(conn, incident.id)
    if opened or stored is None:
        if status.state not in ("lost", "stale"):
            return
        # A new incident has it from its spec (and in its "opened" event's
        # data); a reopened one, or one from before, gets it now.
        fresh = explain_board(conn, status, now)
        if stored is None or stored.get("lost_at") != fresh["lost_at"]:
            storage_offline.save_cause(conn, incident.id, fresh, now)
        return
    if stored.get("revised_at") or status.state != "online":
        return
    if incident.state != "resolved" and not storage_offline.spool_drained(
        conn, status.board_id, status.since
    ):
        return
    revised = _recompute(conn, stored, now)
    revised["revised_at"] = now.isoformat()
    storage_offline.save_cause(conn, incident.id, revised, now)
    _history(conn, incident.id, now, revised, stored)


def _history(
    conn: Conn, incident_id: int, now: datetime, cause: dict[str, Any], before: dict[str, Any]
) -> None:
    """A line in the incident's history when the revision changed the most
    likely cause or its confidence (the same answer again is no news)."""
    top = offline_verdict.from_json(cause).top
    was = offline_verdict.from_json(before).top
    if (top.code, top.confidence) == (was.code, was.confidence):
        return
    note = (
        "cause revised after the board came back with its readings up to the loss:"
        f" {offline_words.cause_text(top, 'en')} (was: {offline_words.cause_text(was, 'en')})"
    )
    incidents.add_event(
        conn,
        incident_id,
        now,
        "comment",
        actor=ACTOR,
        note=note,
        data={
            KEY: {"code": top.code, "confidence": top.confidence},
            "was": {"code": was.code, "confidence": was.confidence},
        },
    )
    log.info("incident %d: %s", incident_id, note)


def _recompute(conn: Conn, stored: dict[str, Any], now: datetime) -> dict[str, Any]:
    evidence = storage_offline.gather(
        conn,
        str(stored["board_id"]),
        state=str(stored.get("state", "lost")),
        silent_from=datetime.fromisoformat(stored["silent_from"]),
        lost_at=datetime.fromisoformat(stored["lost_at"]),
        boot=stored.get("boot"),
        interval_s=int(stored.get("interval_s", 30)),
        now=now,
    )
    return offline_verdict.to_json(offline_cause.explain(evidence), evidence)
