"""The demo week's records beside its telemetry (``history``): the approved
content the boards played, the incidents and tickets of its episodes —
opened, acknowledged, worked, resolved and closed by the people of the demo,
with their costs on the Điều 11 budget lines — then the compliance days and
plays the compliance job computes from the display readings, and the hourly
rollups the charts read.

Written through the incidents' and tickets' own storage functions at the
episodes' times, never through the lifecycle: a week-old incident must
send no notice today.
"""

from __future__ import annotations

import logging
import time as clock
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fleet_server.compliance import storage as compliance_storage
from fleet_server.compliance.job import ComplianceJob
from fleet_server.compliance.models import ComplianceSettings, day_bounds, local_day
from fleet_server.engine import storage as engine_storage
from fleet_server.engine import telemetry_rules
from fleet_server.engine.rules import SiteOutage, board_spec, site_spec
from fleet_server.engine.state import BoardStatus
from fleet_server.incidents import storage as incidents
from fleet_server.incidents.models import Incident, IncidentSpec
from fleet_server.simulator.boards import BoardSpec
from fleet_server.simulator.history import (
    PLAYLIST,
    Conn,
    PowerCut,
    Span,
    Week,
    has_history,
    plan,
    sha256_of,
    write_states,
    write_telemetry,
)
from fleet_server.telemetry import storage_upkeep
from fleet_server.tickets import storage as tickets
from fleet_server.tickets import storage_costs

log = logging.getLogger(__name__)

OPERATOR, TECHNICIAN = "van.hanh", "ky.thuat"
MIN = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Seeded:
    telemetry_rows: int
    incidents: int
    tickets: int
    board_days: int
    seconds: float


def seed_history(
    conn: Conn,
    boards: list[BoardSpec],
    now: datetime,
    compliance: ComplianceSettings | None = None,
) -> Seeded | None:
    """Seven days of history, once: None when the database has telemetry
    already. One transaction: all of it or nothing."""
    started = clock.perf_counter()
    with conn.transaction():
        if has_history(conn):
            return None
        week = plan(boards, now)
        register_content(conn, week.start - timedelta(days=23))
        rows = write_telemetry(conn, week)
        write_states(conn, week)
        made = Episodes(conn, week)
        made.all()
        days = compliance_days(conn, week, now, compliance or ComplianceSettings())
        if storage_upkeep.is_plain(conn):  # TimescaleDB's policy refreshes 8 days itself
            storage_upkeep.refresh_rollups(conn, week.start, week.end + timedelta(hours=1))
    return Seeded(rows, made.incidents, made.tickets, days, clock.perf_counter() - started)


def register_content(conn: Conn, approved_at: datetime) -> None:
    """The week's playlist in the approved registry (Điều 9)."""
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO content_items (title, kind, language, sha256, valid_from,"
            " from_department, approved_by, approved_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'so-tttt', %s) ON CONFLICT (sha256) DO NOTHING",
            [
                (
                    title,
                    kind,
                    language,
                    sha256_of(cid),
                    approved_at,
                    kind != "advertising",
                    approved_at,
                )
                for cid, kind, language, title in PLAYLIST
            ],
        )


def compliance_days(conn: Conn, week: Week, now: datetime, settings: ComplianceSettings) -> int:
    """Every ended day of the week judged by the compliance job (plays
    rebuilt with it); its cursors moved past them, so it does not redo them."""
    job = ComplianceJob(settings)
    first, yesterday = local_day(week.start), local_day(now) - timedelta(days=1)
    day, pairs = first, []
    while day <= yesterday:
        pairs += [(b, day) for b in compliance_storage.boards_for_day(conn, day)]
        day += timedelta(days=1)
    job.compute(conn, pairs, now)
    compliance_storage.save_cursor(conn, "compliance_final", day_bounds(yesterday)[0])
    compliance_storage.save_cursor(conn, "compliance_stored", now)
    return len(pairs)


class Episodes:
    """The incidents and tickets of the week's episodes."""

    def __init__(self, conn: Conn, week: Week) -> None:
        self.conn = conn
        self.week = week
        self.places = engine_storage.boards(conn)
        self.sites = dict(conn.execute("SELECT code, id FROM sites").fetchall())
        self.incidents = 0
        self.tickets = 0

    def all(self) -> None:
        week = self.week
        if week.power_cut:
            self.power_cut(week.power_cut)
        if week.camera_down:
            self.camera_down(week.camera_down)
        if week.screen_dark:
            self.screen_dark(week.screen_dark)
        if week.slow_uplink:
            for board in week.slow_uplink.boards:
                self.telemetry_incident(
                    "network_degraded",
                    board,
                    {"loss_avg": 21.4, "rtt_avg": 1320.0},
                    week.slow_uplink.start + 10 * MIN,
                    week.slow_uplink.end + 10 * MIN,
                    note="condition cleared",
                )
        self.preventive(week.boards[0].device_id, week.start + timedelta(days=1, hours=2))

    # -- incidents ------------------------------------------------------------------
    def incident(
        self,
        spec: IncidentSpec,
        opened: datetime,
        resolved: datetime,
        *,
        note: str,
        acknowledged: datetime | None = None,
        by: str = OPERATOR,
    ) -> Incident:
        incident, _ = incidents.open_incident(self.conn, spec, opened, actor=f"engine:{spec.rule}")
        if acknowledged is not None:
            incidents.acknowledge(self.conn, incident.id, acknowledged, actor=by, note="đã nhận")
        resolved_by = by if note != "condition cleared" else f"engine:{spec.rule}"
        incidents.resolve(self.conn, incident.id, resolved, actor=resolved_by, note=note)
        self.incidents += 1
        return incident

    def telemetry_incident(
        self,
        rule: str,
        board: str,
        details: dict[str, Any],
        opened: datetime,
        resolved: datetime,
        *,
        subject: str | None = None,
        note: str,
        acknowledged: datetime | None = None,
        by: str = OPERATOR,
    ) -> Incident:
        place = self.places[board]
        spec, _ = telemetry_rules.incident_for(
            telemetry_rules.Observation(rule, True, details, subject),
            board,
            place=(place.site_id, place.organisation_id),
            params=telemetry_rules.DEFAULTS[rule],
        )
        return self.incident(spec, opened, resolved, note=note, acknowledged=acknowledged, by=by)

    # -- tickets --------------------------------------------------------------------
    def ticket(
        self,
        incident: Incident | None,
        board: str | None,
        site_id: int,
        *,
        title: str,
        priority: str,
        opened: datetime,
        worked: tuple[datetime, datetime, datetime],
        costs: list[tuple[str, str, int, int]],
        note: str,
        kind: str = "corrective",
    ) -> None:
        """Opened, assigned to the technician, worked, resolved, closed by
        the operator; ``costs``: (line, what, quantity, VND each)."""
        assigned, resolved, closed = worked
        ticket, _ = tickets.create(
            self.conn,
            site_id=site_id,
            board_id=board,
            kind=kind,
            priority=priority,
            title=title,
            actor="engine" if incident else OPERATOR,
            now=opened,
            description=incident.title if incident else "",
            source_key=incident.dedupe_key if incident else None,
        )
        if incident is not None:
            tickets.link_incident(self.conn, ticket.id, incident.id, actor="engine", now=opened)
        tickets.assign(self.conn, ticket.id, TECHNICIAN, actor=OPERATOR, now=assigned)
        tickets.transition(
            self.conn, ticket.id, "in_progress", actor=TECHNICIAN, now=assigned + 5 * MIN
        )
        for category, what, quantity, amount in costs:
            storage_costs.add_cost(
                self.conn,
                ticket.id,
                category=category,
                description=what,
                quantity=Decimal(quantity),
                amount_vnd=Decimal(amount),
                actor=TECHNICIAN,
                now=resolved - 10 * MIN,
            )
        tickets.transition(
            self.conn, ticket.id, "resolved", actor=TECHNICIAN, now=resolved, note=note
        )
        tickets.transition(self.conn, ticket.id, "closed", actor=OPERATOR, now=closed, note=note)
        self.tickets += 1

    # -- the episodes ---------------------------------------------------------------
    def power_cut(self, cut: PowerCut) -> None:
        site_id = self.sites[cut.site]
        for board in cut.boards:
            self.telemetry_incident(
                "mains_lost",
                board,
                {"mains_present": False},
                cut.mains_lost + MIN,
                cut.back + 2 * MIN,
                note="condition cleared",
                acknowledged=cut.mains_lost + 12 * MIN,
            )
            self.telemetry_incident(
                "battery_low",
                board,
                {"battery_percent": 29.5},
                cut.mains_lost + (cut.dead - cut.mains_lost) * 0.7,
                cut.back + 20 * MIN,
                note="condition cleared",
            )
        place = self.places[cut.boards[0]]
        outage = self.incident(
            site_spec(SiteOutage(site_id, place.organisation_id, cut.boards, "power")),
            cut.dead + 5 * clock_s(1),
            cut.back + 3 * MIN,
            note="condition cleared",
            acknowledged=cut.dead + 4 * MIN,
        )
        for board in cut.boards:
            status = BoardStatus(board, "lost", cut.dead, "last will", boot=1)
            child = self.incident(
                board_spec("board_lost", self.places[board], status),
                cut.dead + clock_s(1),
                cut.back + 2 * MIN,
                note="condition cleared",
            )
            incidents.attach(
                self.conn, child.id, outage.id, cut.dead + 5 * clock_s(1), actor="engine"
            )
        self.ticket(
            outage,
            None,
            site_id,
            title="Toàn điểm mất liên lạc / Whole site down",
            priority="urgent",
            opened=cut.dead + 60 * MIN,
            worked=(cut.dead + 62 * MIN, cut.back + 65 * MIN, cut.back + timedelta(hours=17)),
            costs=[
                ("power", "Thuê máy phát điện 2 giờ / generator, 2 hours", 1, 600_000),
                ("repair", "Ắc quy UPS 12 V 100 Ah / UPS battery", 2, 2_350_000),
            ],
            note="Ắc quy UPS chai (90 phút thay vì 4 giờ), đã thay 2 bình"
            " / UPS batteries worn (90 min instead of 4 h), both replaced",
        )

    def camera_down(self, span: Span) -> None:
        board = span.boards[0]
        incident = self.telemetry_incident(
            "camera_unreachable",
            board,
            {"camera_id": span.camera, "status": "timeout", "error": "no TCP connection within 3s"},
            span.start + 5 * MIN,
            span.end + 2 * MIN,
            subject=span.camera,
            note="condition cleared",
            acknowledged=span.start + 20 * MIN,
            by="bien.phong",
        )
        self.ticket(
            incident,
            board,
            self.sites[span.site],
            title=f"Kiểm tra camera / Check camera — {board}",
            priority="high",
            opened=span.start + 35 * MIN,
            worked=(span.start + 40 * MIN, span.end + 10 * MIN, span.end + timedelta(hours=5)),
            costs=[("repair", "Đầu nối RJ45 chống nước / waterproof RJ45 connector", 2, 225_000)],
            note="Đầu nối cáp mạng camera bị ẩm, đã thay / camera cable connector damp, replaced",
        )

    def screen_dark(self, span: Span) -> None:
        board = span.boards[0]
        window_open = span.start.replace(hour=6, minute=30)
        incident = self.telemetry_incident(
            "display_dark",
            board,
            {"screen_on": False, "player_running": False, "halted": None},
            window_open + 5 * MIN,
            span.end + 2 * MIN,
            note="condition cleared",
            acknowledged=window_open + 25 * MIN,
        )
        self.ticket(
            incident,
            board,
            self.sites[span.site],
            title=f"Kiểm tra màn hình / Check display — {board}",
            priority="high",
            opened=window_open + 65 * MIN,
            worked=(window_open + 70 * MIN, span.end, span.end + timedelta(hours=6)),
            costs=[
                ("repair", "Bộ nguồn module LED 5 V 40 A / LED module power supply", 1, 1_250_000)
            ],
            note="Hỏng bộ nguồn module LED, đã thay / LED module power supply failed, replaced",
        )

    def preventive(self, board: str, at: datetime) -> None:
        self.ticket(
            None,
            board,
            self.places[board].site_id,
            title="Bảo dưỡng định kỳ: vệ sinh mặt LED, kiểm tra tủ điện"
            " / Preventive: clean the LED face, check the cabinet",
            priority="normal",
            opened=at,
            worked=(at + 30 * MIN, at + timedelta(hours=6), at + timedelta(hours=8)),
            costs=[("maintenance", "Vệ sinh, kiểm tra định kỳ / cleaning and checks", 1, 350_000)],
            note="Đã vệ sinh mặt bảng, siết lại đầu cos tủ điện / LED face cleaned, lugs tightened",
            kind="preventive",
        )


def clock_s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)
