"""The compliance job the engine runs: late data, ended days, incidents.

Each run, inside the engine's transaction:

1. days that received display samples since the last run (late, replayed
   data included) are measured again and their play log rebuilt;
2. once a local day has ended, every enabled board gets its row for it —
   a board that sent nothing gets "unknown", never "compliant";
3. today's running figures are refreshed every ``today_every_s``;
4. from the report hour of the next morning, every non-compliant day opens
   a compliance incident; a day that late data has since cleared resolves it;
5. the same for every day whose advertising share exceeds its ceiling
   (Điều 8.3, rule ``advertising_share_exceeded``).

Progress lives in ``job_cursors`` so a standby engine continues the work.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from fleet_server.compliance import (
    storage,
    storage_findings,
    storage_orders,
    storage_pass,
    storage_player,
)
from fleet_server.compliance.models import (
    ComplianceSettings,
    advertising_share,
    day_bounds,
    exempting_order,
    incident_due,
    local_day,
    verdict,
)
from fleet_server.incidents import lifecycle
from fleet_server.incidents.models import IncidentSpec, InvalidTransition
from fleet_server.incidents.titles import titled

log = logging.getLogger(__name__)

Conn = storage.Conn
ACTOR = "engine:broadcast_noncompliant"
RULE = "broadcast_noncompliant"
ADVERTISING_ACTOR = "engine:advertising_share_exceeded"
ADVERTISING_RULE = "advertising_share_exceeded"
ADVERTISING_KEY = storage_findings.ADVERTISING_KEY
#: re-read this much before the cursor: a transaction that committed late
OVERLAP = timedelta(seconds=60)
#: catch up on a large backlog in slices of stored time
SLICE = timedelta(hours=6)
#: failed days older than this no longer open incidents (a fresh install
#: computing last month must not page anybody)
INCIDENT_HORIZON_DAYS = 3


class ComplianceJob:
    def __init__(
        self,
        settings: ComplianceSettings | None = None,
    ) -> None:
        self.settings = settings or ComplianceSettings()
        self._due: datetime | None = None
        self._today_due: datetime | None = None

    def due(self, now: datetime) -> bool:
        return self._due is None or now >= self._due

    def run(self, conn: Conn, now: datetime) -> dict[str, int]:
        """One run; returns counts for logs and tests."""
        self._due = now + timedelta(seconds=self.settings.every_s)
        done = {"late": self._late_data(conn, now), "ended": self._ended_days(conn, now)}
        if self._today_due is None or now >= self._today_due:
            today = local_day(now)
            done["today"] = self.compute(
                conn, [(b, today) for b in storage.boards_for_day(conn, today)], now
            )
            self._today_due = now + timedelta(seconds=self.settings.today_every_s)
        done["incidents"] = self._incidents(conn, now)
        done["advertising"] = self._advertising(conn, now)
        return done

    def compute(self, conn: Conn, pairs: Sequence[storage.Pair], now: datetime) -> int:
        """Measure, judge and store these (board, day) pairs; rebuild their plays."""
        s = self.settings
        thresholds = {"morning": s.morning_minutes, "afternoon": s.afternoon_minutes}
        for i in range(0, len(pairs), s.batch):
            chunk = pairs[i : i + s.batch]
            # one pass over the samples: the figures, and the play log rebuilt
            measured = storage_pass.measure_and_rebuild_plays(conn, chunk, s.sample_gap_s)
            judged = [
                (m, v, exempting_order(m, s) if v == "exempt" else None, advertising_share(m, s))
                for m in measured
                for v in (verdict(m, now, s),)
            ]
            storage.save_days(conn, judged, thresholds)
        return len(pairs)

    def _late_data(self, conn: Conn, now: datetime) -> int:
        db_now = storage.settled_until(conn)
        after = storage.cursor(conn, "compliance_stored")
        upto = db_now if after is None else min(db_now, after + SLICE)
        since = None if after is None else after - OVERLAP
        today = local_day(now)
        # today's days are refreshed on their own schedule, all boards at once
        # New samples, and emergency orders given or revoked since (Điều 8.2)
        dirty = set(storage.dirty_pairs(conn, since, upto, self.settings.sample_gap_s))
        dirty |= set(storage_orders.order_pairs(conn, since, upto))
        pairs = sorted(p for p in dirty if p[1] < today)
        count = self.compute(conn, pairs, now)
        _kept, problems = storage_player.player_records(conn, since, upto)
        for problem in problems[:20]:
            log.warning("play record skipped: %s", problem)
        if len(problems) > 20:
            log.warning("%d more play records skipped", len(problems) - 20)
        storage.save_cursor(conn, "compliance_stored", upto)
        if count:
            log.info("compliance: %d board-days measured again after new data", count)
        return count

    def _ended_days(self, conn: Conn, now: datetime) -> int:
        yesterday = local_day(now) - timedelta(days=1)
        last = storage.cursor(conn, "compliance_final")
        first = yesterday if last is None else local_day(last) + timedelta(days=1)
        count = 0
        day: date = first
        while day <= yesterday:
            count += self.compute(conn, [(b, day) for b in storage.boards_for_day(conn, day)], now)
            storage.save_cursor(conn, "compliance_final", day_bounds(day)[0])
            day += timedelta(days=1)
        if count:
            log.info("compliance: %d board-days judged after their day ended", count)
        return count

    def _incidents(self, conn: Conn, now: datetime) -> int:
        opened = 0
        since = local_day(now) - timedelta(days=INCIDENT_HORIZON_DAYS)
        for board_id, day, site_id, org_id in storage_findings.failed_days_without_incident(
            conn, since
        ):
            if not incident_due(day, now, self.settings):
                continue
            row = storage_findings.day_figures(conn, board_id, day)
            spec = IncidentSpec(
                dedupe_key=f"compliance:{board_id}:{day}",
                rule=RULE,
                incident_class="compliance",
                severity="minor",
                **titled(RULE, board=board_id, day=day.isoformat()),
                board_id=board_id,
                site_id=site_id,
                organisation_id=org_id,
                details=_details(day, row),
            )
            # Through the lifecycle, as every incident: held in maintenance,
            # notified through the routes.
            incident, outcome = lifecycle.open_incident(conn, spec, now, actor=ACTOR)
            if outcome == "opened":
                opened += 1
                log.info("incident %d opened: %s %s", incident.id, board_id, spec.title)
        for incident_id, board_id, day, status in storage_findings.open_incidents_now_passing(conn):
            try:
                lifecycle.resolve(
                    conn,
                    incident_id,
                    now,
                    actor=ACTOR,
                    note=f"late data for {board_id} on {day}: the day is now {status}",
                )
            except InvalidTransition:
                continue
        return opened

    def _advertising(self, conn: Conn, now: datetime) -> int:
        """Điều 8.3: a day whose advertising share exceeds its ceiling opens
        one incident the next morning; late data that brings it under (or a
        day judged again under another ceiling) resolves it."""
        opened = 0
        since = local_day(now) - timedelta(days=INCIDENT_HORIZON_DAYS)
        for row in storage_findings.advertising_days_without_incident(conn, since):
            board_id, day, site_id, org_id, ad, total, share, ceiling, ceiling_from = row
            if not incident_due(day, now, self.settings):
                continue
            spec = IncidentSpec(
                dedupe_key=f"{ADVERTISING_KEY}{board_id}:{day}",
                rule=ADVERTISING_RULE,
                incident_class="compliance",
                severity="minor",
                **titled(
                    ADVERTISING_RULE,
                    board=board_id,
                    day=day.isoformat(),
                    share=round(float(share), 1),
                    ceiling=float(ceiling),
                ),
                board_id=board_id,
                site_id=site_id,
                organisation_id=org_id,
                details={
                    "day": day.isoformat(),
                    "advertising_minutes": round(float(ad), 1),
                    "minutes_on_air": round(float(total), 1),
                    "advertising_share_percent": round(float(share), 2),
                    "ceiling_percent": float(ceiling),
                    # which ceiling applied: fleet, organisation:<code>, site:<code>
                    "ceiling_from": ceiling_from,
                },
            )
            incident, outcome = lifecycle.open_incident(conn, spec, now, actor=ADVERTISING_ACTOR)
            if outcome == "opened":
                opened += 1
                log.info("incident %d opened: %s %s", incident.id, board_id, spec.title)
        for (
            incident_id,
            board_id,
            day,
            share,
            ceiling,
        ) in storage_findings.advertising_incidents_now_under(conn):
            shown = "no minutes on air" if share is None else f"{share:.1f} %"
            limit = "none" if ceiling is None else f"{ceiling:g} %"
            try:
                lifecycle.resolve(
                    conn,
                    incident_id,
                    now,
                    actor=ADVERTISING_ACTOR,
                    note=f"{board_id} on {day}: advertising is now {shown} (ceiling {limit})",
                )
            except InvalidTransition:
                continue
        return opened


def _details(day: date, row: tuple[Any, ...]) -> dict[str, Any]:
    morning, afternoon, morning_unknown, afternoon_unknown, basis = row
    return {
        "day": day.isoformat(),
        "morning_minutes": round(float(morning), 1),
        "afternoon_minutes": round(float(afternoon), 1),
        "morning_unknown_minutes": round(float(morning_unknown), 1),
        "afternoon_unknown_minutes": round(float(afternoon_unknown), 1),
        "windows": basis.get("windows"),
        "thresholds_minutes": basis.get("thresholds_minutes"),
    }
