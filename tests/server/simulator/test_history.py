"""The demo's seven days of history: written in seconds on a new database,
once; charts, availability, compliance and the ticket costs have figures;
nothing of it looks new to the engine or sends a notice today."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from fleet_server.compliance.models import local_day
from fleet_server.engine.service import Engine
from fleet_server.simulator.history import HISTORY_DAYS, plan
from fleet_server.simulator.history_records import seed_history
from fleet_server.simulator.seed import fleet_specs, seed

Conn = psycopg.Connection[tuple[Any, ...]]
NOW = datetime(2026, 12, 6, 3, 30, tzinfo=UTC)  # 10:30 in Lai Châu


def one(conn: Conn, sql: str, *args: Any) -> Any:
    row = conn.execute(sql, args).fetchone()
    assert row is not None
    return row[0]


@pytest.fixture
def fleet(db_url: str) -> list[Any]:
    inventory = fleet_specs(20)
    with psycopg.connect(db_url) as conn:
        seed(conn, inventory)
    return [b for _, b in inventory]


def test_a_week_of_history_in_seconds_once(db_url: str, fleet: list[Any]) -> None:
    with psycopg.connect(db_url) as conn:
        started = time.monotonic()
        seeded = seed_history(conn, fleet, NOW)
        elapsed = time.monotonic() - started
        assert seeded is not None
        # 20 boards, a week: ~40,000 rows a kind every 5 min, ~140,000 display rows
        assert seeded.telemetry_rows > 250_000
        assert elapsed < 60, f"history took {elapsed:.1f} s"
        print(f"history: {seeded}")
        counts = {
            table: one(conn, f"SELECT count(*) FROM {table}")
            for table in ("telemetry_heartbeat", "compliance_days", "play_log", "tickets")
        }
        # A second start writes nothing.
        assert seed_history(conn, fleet, NOW + timedelta(minutes=5)) is None
        for table, count in counts.items():
            assert one(conn, f"SELECT count(*) FROM {table}") == count


def test_history_gives_charts_availability_and_compliance_figures(
    db_url: str, fleet: list[Any]
) -> None:
    week = plan(fleet, NOW)
    assert week.power_cut is not None
    assert week.screen_dark is not None
    with psycopg.connect(db_url) as conn:
        seed_history(conn, fleet, NOW)
        # Charts: hourly rollups over the whole week, every board.
        assert one(conn, "SELECT count(DISTINCT device_id) FROM heartbeat_hourly") == 20
        hours = one(conn, "SELECT count(DISTINCT bucket) FROM heartbeat_hourly")
        assert hours >= HISTORY_DAYS * 24
        assert one(conn, "SELECT max(mains_lost_samples) FROM power_hourly") > 0
        # Availability: every board has a figure; the power cut shows.
        figures: dict[str, float] = dict(
            conn.execute(
                "SELECT board_id, availability FROM fleet_board_availability(%s, %s, true, NULL)",
                (week.start, week.end),
            ).fetchall()
        )
        assert len(figures) == 20
        assert all(v is not None for v in figures.values())
        for board in week.power_cut.boards:
            assert 0.98 < figures[board] < 1.0
        assert figures[fleet[-1].device_id] == pytest.approx(1.0)
        # Compliance: each ended day judged by the compliance job, the dark
        # morning non-compliant, the others compliant; plays rebuilt.
        yesterday = local_day(NOW) - timedelta(days=1)
        statuses: dict[str, int] = dict(
            conn.execute(
                "SELECT status, count(*) FROM compliance_days WHERE day <= %s GROUP BY status",
                (yesterday,),
            ).fetchall()
        )
        assert statuses.get("non_compliant") == 1, statuses
        assert "unknown" not in statuses
        dark_day = local_day(week.screen_dark.start)
        assert (
            one(
                conn,
                "SELECT status FROM compliance_days WHERE board_id = %s AND day = %s",
                week.screen_dark.boards[0],
                dark_day,
            )
            == "non_compliant"
        )
        assert one(conn, "SELECT count(*) FROM play_log") > 1000
        assert one(conn, "SELECT count(*) FROM content_items") >= 5
        advertising = one(
            conn,
            "SELECT max(advertising_minutes / nullif(total_minutes, 0)) FROM compliance_days",
        )
        assert 0 < advertising < 0.10  # under the Điều 8.3 ceiling


def test_history_incidents_and_tickets_are_past_and_closed(db_url: str, fleet: list[Any]) -> None:
    week = plan(fleet, NOW)
    assert week.power_cut is not None
    with psycopg.connect(db_url) as conn:
        seeded = seed_history(conn, fleet, NOW)
        assert seeded is not None
        assert one(conn, "SELECT count(*) FROM incidents WHERE state <> 'resolved'") == 0
        assert one(conn, "SELECT count(*) FROM incidents") == seeded.incidents
        site_incident = one(conn, "SELECT id FROM incidents WHERE rule = 'site_outage'")
        children = conn.execute(
            "SELECT board_id FROM incidents WHERE parent_id = %s ORDER BY 1", (site_incident,)
        ).fetchall()
        assert [c[0] for c in children] == sorted(week.power_cut.boards)
        assert one(conn, "SELECT count(*) FROM tickets WHERE state <> 'closed'") == 0
        assert one(conn, "SELECT count(*) FROM tickets") == seeded.tickets == 4
        costs: dict[str, Any] = dict(
            conn.execute(
                "SELECT category, sum(quantity * amount_vnd) FROM ticket_costs GROUP BY 1"
            ).fetchall()
        )
        assert costs["repair"] == 2 * 2_350_000 + 2 * 225_000 + 1_250_000
        assert set(costs) == {"power", "repair", "maintenance"}
        # The past sends nothing today, and the boards' live status is untouched.
        assert one(conn, "SELECT count(*) FROM notification_outbox") == 0
        assert one(conn, "SELECT count(*) FROM board_status") == 0
        assert one(conn, "SELECT count(*) FROM board_latest") == 0


def test_the_engine_finds_nothing_new_in_the_history(db_url: str, fleet: list[Any]) -> None:
    """A week-old "online" is stored with its week-old times: the engine's
    first passes neither mark boards stale nor open anything from it."""
    now = datetime.now(UTC)
    with psycopg.connect(db_url) as conn:
        seed_history(conn, fleet, now)
    engine = Engine(db_url)
    with psycopg.connect(db_url, autocommit=True) as conn:
        first = engine.evaluate(conn)
        second = engine.evaluate(conn)
        assert first.opened == second.opened == []
        assert one(conn, "SELECT count(*) FROM board_status") == 0
        assert one(conn, "SELECT count(*) FROM notification_outbox") == 0
