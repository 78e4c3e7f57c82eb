"""A fleet holding one of every coded value the console shows: an incident
of every rule (open, acknowledged, resolved by the engine, flapping,
reopened), a whole-site incident with its boards' incidents attached, every
board state reason, engine-made tickets with costs, commands with answers
and an audit row of every action. Written as the engine and the services
write them (``lifecycle``, ``tickets``, ``audit.record``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from fleet_server.access import audit
from fleet_server.access.principal import Actor
from fleet_server.engine.rules import SiteOutage, site_spec
from fleet_server.incidents import lifecycle
from fleet_server.incidents.models import IncidentSpec
from fleet_server.incidents.titles import RULES, titled
from fleet_server.tickets import storage as tickets
from fleet_server.tickets.models import AUTO_TICKETS
from fleet_server.tickets.storage_costs import add_cost
from tests.server.api.console.fleet_state import add_picture, first_camera, report_pictures

Conn = psycopg.Connection[Any]

#: The site whose two boards go down together (a border gate).
SITE_BOARDS = ("lc-u-ma-tu-khoong-01", "lc-u-ma-tu-khoong-02")
BOARD = "lc-ma-lu-thang-01"
TEAM = "to-ky-thuat-bien-gioi"
#: Every board state reason the server writes, by board.
REASONS = {
    "lc-ma-lu-thang-01": ("online", "birth: agent connected"),
    "lc-ma-lu-thang-02": ("online", "heartbeats resumed"),
    "lc-u-ma-tu-khoong-01": ("lost", "last will: connection lost"),
    "lc-u-ma-tu-khoong-02": ("stale", "no heartbeat for 95 s (interval 30 s)"),
    "lc-pa-nam-cum-01": ("offline", "agent stopped cleanly"),
    "lc-mu-ca-01": ("offline", "simulator stopped"),
}
#: Details as each rule writes them (engine/rules.py, telemetry_rules.py,
#: compliance/job.py).
DETAILS: dict[str, dict[str, Any]] = {
    "board_lost": {
        "state": "lost",
        "reason": "last will: connection lost",
        "since": "2026-12-01T03:00:00+00:00",
        "boot": 7,
        # why it went, as engine/service_offline.py stores it (revised when it came back)
        "offline_cause": {
            "board_id": SITE_BOARDS[0],
            "state": "lost",
            "silent_from": "2026-12-01T02:58:30+00:00",
            "lost_at": "2026-12-01T03:00:00+00:00",
            "boot": 7,
            "interval_s": 30,
            "causes": [
                {
                    "code": "power",
                    "confidence": "high",
                    "lines": [
                        {
                            "at": "2026-12-01T02:40:00+00:00",
                            "key": "mains_lost",
                            "params": {"battery_percent": 41.5, "runtime_s": 1200},
                        },
                        {
                            "at": "2026-12-01T02:59:00+00:00",
                            "key": "runtime_out",
                            "params": {"runtime_s": 1200},
                        },
                    ],
                },
                {
                    "code": "site_uplink",
                    "confidence": "low",
                    "lines": [
                        {
                            "at": "2026-12-01T03:00:00+00:00",
                            "key": "site_together",
                            "params": {"down": 2, "total": 2, "window_s": 120},
                        }
                    ],
                },
            ],
            "ruled_out": [
                {
                    "at": "2026-12-01T03:00:00+00:00",
                    "key": "platform_gap",
                    "params": {"component": "broker", "until": "2026-12-01T03:01:00+00:00"},
                },
                {
                    "at": "2026-12-01T03:00:00+00:00",
                    "key": "fleet_heard",
                    "params": {"heard": 10, "boards": 11},
                },
            ],
            "revised_at": "2026-12-01T03:20:00+00:00",
        },
    },
    "board_stale": {
        "state": "stale",
        "reason": "no heartbeat for 95 s (interval 30 s)",
        "since": "2026-12-01T03:00:00+00:00",
        "boot": 7,
    },
    "mains_lost": {"mains_present": False},
    "battery_low": {"battery_percent": 22.5},
    "network_degraded": {"loss_avg": 24.2, "rtt_avg": 1720.0},
    "camera_unreachable": {"camera_id": "cam-1", "status": "stream_missing", "error": None},
    "display_dark": {"screen_on": False, "player_running": True, "halted": None},
    "clock_skew": {"skew_s": 412},
    "disk_full": {"disk_percent": 93.0},
    "overheating": {"temperature_c": 78.5},
    "agent_restarting": {"boots": 4},
    "spool_dropping": {"dropped": 120},
    "spool_degraded": {"disk_percent": 99.0, "spool_pending": 3400},
    "content_unapproved": {
        "sha256": "ab" * 32,
        "content_id": "tin-bai-01",
        "started_at": "2026-12-01T03:00:00Z",
        "why": "not in the approved registry",
    },
    # screen and camera proof (issue 18)
    "screen_black": {"phash": "0000000000000000", "luma_mean": 2.0, "luma_stddev": 0.5},
    "screen_frozen": {"phash": "0123456789abcdef", "same_count": 7},
    "screen_wrong_content": {"phash": "0123456789abcdef", "reference_distance": 31},
    "camera_black": {"camera_id": "cam-1", "luma_mean": 1.5},
    "camera_frozen": {"camera_id": "cam-1", "same_count": 9},
    "camera_covered": {"camera_id": "cam-1", "luma_stddev": 2.0},
    "camera_moved": {"camera_id": "cam-1", "reference_distance": 28},
    "camera_default_credentials": {"camera_id": "cam-1", "firmware": "V5.5.0"},
    "camera_firmware_unknown": {"camera_id": "cam-1", "firmware": None},
    # the 4G data budget (issue 19)
    "data_budget_forecast": {
        "month": "2026-12",
        "used_mb": 31.5,
        "forecast_mb": 92.4,
        "budget_mb": 60.0,
        "factor": 2,
    },
    "data_budget_spent": {
        "month": "2026-12",
        "used_mb": 61.2,
        "forecast_mb": 120.0,
        "budget_mb": 60.0,
        "factor": 8,
    },
}
#: Every audit action the server writes (and two that only have their parts).
ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "audit.export",
    "board.config",
    "board.import",
    "board.update",
    "broadcast_windows.delete",
    "broadcast_windows.set",
    "command.send",
    "data_budget.set",
    "contact.create",
    "content.approve",
    "content.import",
    "content.retire",
    "content.submission.start_appraisal",
    "content.supplier.create",
    "content_file.upload",
    "emergency_order.create",
    "emergency_order.revoke",
    "incident.acknowledge",
    "incident.comment",
    "incident.photo",
    "incident.report",
    "incident.resolve",
    "maintenance.create",
    "maintenance.end",
    "organisation.create",
    "preventive.update",
    "report.annual.download",
    "report.budget.put",
    "archive.download",
    "route.update",
    "rule_override.set",
    "site.update",
    "ticket.assign",
    "ticket.cost",
    "ticket.create",
    "ticket.transition",
    "user.create",
    "user.password_reset",
    "user.unlock",
)


@dataclass
class Seeded:
    incidents: dict[str, int] = field(default_factory=dict)
    site_incident: int = 0
    children: list[int] = field(default_factory=list)
    tickets: list[int] = field(default_factory=list)
    site: int = 0


def _place(conn: Conn, board_id: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT b.site_id, s.organisation_id FROM boards b JOIN sites s ON s.id = b.site_id"
        " WHERE b.id = %s",
        (board_id,),
    ).fetchone()
    assert row is not None, board_id
    return int(row[0]), int(row[1])


def _spec(conn: Conn, rule: str, board_id: str, **title: Any) -> IncidentSpec:
    site, org = _place(conn, board_id)
    return IncidentSpec(
        dedupe_key=f"board:{board_id}:{rule}",
        rule=rule,
        incident_class="compliance"
        if "broadcast" in rule or "advertising" in rule
        else "technical",
        severity="major",
        board_id=board_id,
        site_id=site,
        organisation_id=org,
        details=DETAILS.get(rule, {}),
        **titled(rule, board=board_id, **title),
    )


def set_reasons(conn: Conn, now: datetime) -> None:
    for board_id, (state, reason) in REASONS.items():
        conn.execute(
            "INSERT INTO board_status (board_id, state, reason, since, last_seen_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (board_id) DO UPDATE"
            " SET state = EXCLUDED.state, reason = EXCLUDED.reason, since = EXCLUDED.since",
            (board_id, state, reason, now - timedelta(hours=1), now - timedelta(minutes=1), now),
        )
        for _, text in REASONS.values():
            conn.execute(
                "INSERT INTO board_status_history (board_id, at, state, previous, reason)"
                " VALUES (%s, %s, %s, 'online', %s)",
                (board_id, now - timedelta(hours=2), state, text),
            )


def open_rules(conn: Conn, now: datetime, seeded: Seeded) -> None:
    """An incident of every rule on BOARD; some acknowledged, resolved,
    flapping or reopened, as people and the engine leave them."""
    day = (now - timedelta(days=1)).date().isoformat()
    for rule, details in DETAILS.items():
        if rule in ("board_lost", "board_stale"):
            continue  # on the site's boards, below
        camera = details.get("camera_id") if rule != "camera_unreachable" else None
        named = {} if camera is None else {"camera": camera}
        spec = _spec(conn, rule, BOARD, **named)
        incident, _ = lifecycle.open_incident(conn, spec, now, actor="engine")
        seeded.incidents[rule] = incident.id
    compliance = _spec(conn, "broadcast_noncompliant", BOARD, day=day)
    compliance = IncidentSpec(
        **{
            **_asdict(compliance),
            "details": {
                "day": day,
                "morning_minutes": 42.5,
                "afternoon_minutes": 60.0,
                "morning_unknown_minutes": 0.0,
                "afternoon_unknown_minutes": 12.0,
                "windows": {"morning": ["06:00", "08:00"], "afternoon": ["17:00", "19:00"]},
                "thresholds_minutes": {"morning": 60, "afternoon": 60},
            },
        }
    )
    incident, _ = lifecycle.open_incident(
        conn, compliance, now, actor="engine:broadcast_noncompliant"
    )
    seeded.incidents["broadcast_noncompliant"] = incident.id
    advertising = _spec(
        conn, "advertising_share_exceeded", BOARD, day=day, share=31.4, ceiling=30.0
    )
    advertising = IncidentSpec(
        **{
            **_asdict(advertising),
            "details": {
                "day": day,
                "advertising_minutes": 37.7,
                "minutes_on_air": 120.0,
                "advertising_share_percent": 31.42,
                "ceiling_percent": 30.0,
                "ceiling_from": "organisation:bql-kkt",
            },
        }
    )
    incident, _ = lifecycle.open_incident(
        conn, advertising, now, actor="engine:advertising_share_exceeded"
    )
    seeded.incidents["advertising_share_exceeded"] = incident.id
    site, org = _place(conn, BOARD)
    for rule in RULES:
        if not rule.endswith("_reported"):
            continue
        incident, _ = lifecycle.open_incident(
            conn,
            IncidentSpec(
                dedupe_key=f"report:{rule}",
                rule=rule,
                incident_class="technical",
                severity="minor",
                title="Màn hình có vệt sọc / thấy từ xa",
                board_id=BOARD,
                site_id=site,
                organisation_id=org,
                details={"category": rule.removesuffix("_reported"), "reported_by": "van.hanh"},
            ),
            now,
            actor="van.hanh",
        )
        conn.execute("UPDATE incidents SET reported_by = 'van.hanh' WHERE id = %s", (incident.id,))
        seeded.incidents[rule] = incident.id
    later = now + timedelta(minutes=1)
    lifecycle.acknowledge(conn, seeded.incidents["disk_full"], later, actor="van.hanh")
    lifecycle.resolve(
        conn, seeded.incidents["clock_skew"], later, actor="engine", note="condition cleared"
    )
    lifecycle.mark_flapping(conn, seeded.incidents["network_degraded"], later, actor="engine")
    lifecycle.comment(
        conn, seeded.incidents["battery_low"], later, actor="engine", note="reminder:1"
    )
    lifecycle.comment(
        conn,
        seeded.incidents["battery_low"],
        later,
        actor="engine",
        note="not acknowledged after 30 min",
    )
    lifecycle.resolve(
        conn,
        seeded.incidents["broadcast_noncompliant"],
        later,
        actor="engine:broadcast_noncompliant",
        note=f"late data for {BOARD} on {day}: the day is now compliant",
    )
    lifecycle.resolve(
        conn,
        seeded.incidents["advertising_share_exceeded"],
        later,
        actor="engine:advertising_share_exceeded",
        note=f"{BOARD} on {day}: advertising is now 28.0 % (ceiling 30 %)",
    )


def _asdict(spec: IncidentSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}


def site_down(conn: Conn, now: datetime, seeded: Seeded) -> None:
    """Both boards of a site lost, then the site incident holding them."""
    site, org = _place(conn, SITE_BOARDS[0])
    seeded.site = site
    children = []
    for board_id, rule in zip(SITE_BOARDS, ("board_lost", "board_stale"), strict=True):
        child, _ = lifecycle.open_incident(conn, _spec(conn, rule, board_id), now, actor="engine")
        children.append(child)
        seeded.incidents[rule] = child.id
    parent, _ = lifecycle.open_incident(
        conn, site_spec(SiteOutage(site, org, SITE_BOARDS, "power")), now, actor="engine"
    )
    for child in children:
        lifecycle.attach(conn, child, parent, now, actor="engine")
    seeded.site_incident = parent.id
    seeded.children = [c.id for c in children]
    seeded.incidents["site_outage"] = parent.id


def engine_tickets(conn: Conn, now: datetime, seeded: Seeded) -> None:
    """Tickets as the engine opens them (auto_tickets), with costs."""
    rule = AUTO_TICKETS["site_outage"]
    parent = conn.execute(
        "SELECT title FROM incidents WHERE id = %s", (seeded.site_incident,)
    ).fetchone()
    assert parent is not None
    ticket, _ = tickets.create(
        conn,
        site_id=seeded.site,
        board_id=None,
        kind="corrective",
        priority=rule.priority,
        title=f"{rule.title} — {SITE_BOARDS[0]}",
        actor="engine",
        now=now,
        description=str(parent[0]),
    )
    tickets.link_incident(conn, ticket.id, seeded.site_incident, actor="engine", now=now)
    add_cost(
        conn,
        ticket.id,
        category="power",
        description="Thuê máy phát",
        amount_vnd=Decimal(150000),
        actor="ky.thuat",
        now=now,
    )
    seeded.tickets.append(ticket.id)


def commands(conn: Conn, now: datetime) -> None:
    conn.execute(
        "INSERT INTO board_commands (request_id, board_id, command, state, created_by,"
        " created_at, expires_at, finished_at, result_status, output, note)"
        " VALUES ('words-1', %s, 'ping', 'succeeded', 'van.hanh', %s, %s, %s, 'ok', %s,"
        " 'kiểm tra')",
        (BOARD, now, now + timedelta(minutes=5), now, Jsonb({"pong": True, "uptime_s": 5400})),
    )


def audit_rows(conn: Conn) -> None:
    for n, action in enumerate(ACTIONS):
        audit.record(
            conn,
            Actor("quan.tri", address="10.0.0.1") if n % 2 else "engine",
            action,
            target_type=action.split(".")[0] if "." in action else None,
            target_id=n,
            before={"state": "open", "acknowledged_by": None, "due_at": "2026-12-01T03:00:00Z"},
            after={
                "state": "acknowledged",
                "acknowledged_by": "van.hanh",
                "due_at": "2026-12-02T03:00:00+00:00",
                "some_new_field": True,
            },
        )


def pictures(conn: Conn, now: datetime) -> None:
    """The screen and a camera of BOARD in pictures (and camera ``cam-1`` of
    the camera rules' details), with what the board judged of each: a frozen
    screen showing the wrong item, a covered camera without a reference."""
    camera = first_camera(conn, BOARD)
    add_picture(conn, BOARD, now, reason="incident")
    add_picture(conn, BOARD, now, camera_id=camera, reason="command")
    add_picture(conn, BOARD, now, camera_id="cam-1", reason="interval")
    report_pictures(
        conn,
        BOARD,
        now,
        screen={"frozen": True, "same_count": 7, "wrong_content": True, "reference_distance": 31},
        camera={"covered": True, "moved": None},
    )


def seed_everything(conn: Conn, now: datetime) -> Seeded:
    """All of the above (``conn`` in autocommit or a transaction)."""
    seeded = Seeded()
    with conn.transaction():
        set_reasons(conn, now)
        site_down(conn, now, seeded)
        open_rules(conn, now, seeded)
        engine_tickets(conn, now, seeded)
        commands(conn, now)
        pictures(conn, now)
        audit_rows(conn)
    return seeded
