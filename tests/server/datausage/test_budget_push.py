"""Telling boards their budget only when their agent reads ``data_budget``
(an older agent refuses a whole desired version holding it): boards that
report 4G data usage, or whose agent is FLEET_DATA_BUDGET_AGENT_VERSION or
later; the engine's round tells a board added at a site with a budget, or
just upgraded, without the budget being saved again; and board_data_usage's
retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

import fleet_protocol as fp
from fleet_server.datausage.push import DataBudgetJob, version_at_least
from fleet_server.settings import Settings
from fleet_server.telemetry import storage_upkeep as upkeep
from tests.server.datausage.test_usage_engine import NOON_10_DEC, report, usage
from tests.server.engine.conftest import Conn, Store
from tests.support.clock import Clock

A, B = "lc-ma-lu-thang-01", "lc-ma-lu-thang-02"  # the same site
MB = 1_000_000
BUDGET = {"monthly_bytes": 30 * MB, "adaptive": True}


@pytest.mark.parametrize(
    ("version", "first", "later"),
    [
        ("1.10.0", "1.9", True),
        ("1.9", "1.9.0", True),
        ("2.0.0~rc1", "2.0.0", True),
        ("1.8.9", "1.9", False),
        ("dev", "1.0", False),
        ("1.0", "main", False),
    ],
)
def test_versions_compare_by_their_numbers(version: str, first: str, later: bool) -> None:
    assert version_at_least(version, first) is later


def heartbeat(store: Store, board: str, version: str) -> None:
    store.reading(
        board,
        fp.TelemetryKind.HEARTBEAT,
        fp.HeartbeatData(
            uptime_s=1, agent_version=version, cpu_percent=1, memory_percent=1, disk_percent=1
        ),
    )


def site_budget(conn: Conn, board: str) -> None:
    conn.execute(
        "INSERT INTO data_budgets (site_id, monthly_bytes, adaptive, updated_by, updated_at)"
        " SELECT site_id, %s, true, 'test', now() FROM boards WHERE id = %s",
        (30 * MB, board),
    )


def desired(conn: Conn, board: str) -> object:
    row = conn.execute(
        "SELECT config->'data_budget' FROM board_config_desired WHERE board_id = %s"
        " ORDER BY version DESC LIMIT 1",
        (board,),
    ).fetchone()
    return None if row is None else row[0]


def test_only_boards_that_read_it_are_told(store: Store, clock: Clock, engine_conn: Conn) -> None:
    clock.set(NOON_10_DEC)
    engine_conn.execute(
        "INSERT INTO board_config_desired (board_id, version, config, created_by, created_at)"
        " VALUES (%s, 3, '{\"spool\": {\"batch_max_delay_s\": 30}}', 'test', now())",
        (A,),
    )
    site_budget(engine_conn, A)
    heartbeat(store, B, "0.1.0")  # an agent from before the budget: never told
    job = DataBudgetJob()
    assert job.run(engine_conn, clock.now) == []
    report(store, A, usage("2026-12-10", 1, 1, 1, 1))  # it counts its bytes: it reads budgets
    assert not job.due(clock.now)
    assert job.run(engine_conn, clock.now) == [A]
    assert desired(engine_conn, A) == BUDGET
    [[config, actor]] = engine_conn.execute(
        "SELECT d.config, d.created_by FROM board_config_desired d"
        " WHERE board_id = %s AND version = 4",
        (A,),
    )
    assert (config["spool"], actor) == ({"batch_max_delay_s": 30}, "engine")  # the rest kept
    assert engine_conn.execute(
        "SELECT actor, target_id FROM audit_log WHERE action = 'board.config'"
    ).fetchall() == [("engine", A)]
    assert desired(engine_conn, B) is None
    assert job.run(engine_conn, clock.now) == []  # told once
    # upgraded to a release FLEET_DATA_BUDGET_AGENT_VERSION names
    heartbeat(store, B, "1.4.2")
    assert DataBudgetJob("1.5").run(engine_conn, clock.now) == []
    assert DataBudgetJob("1.4").run(engine_conn, clock.now) == [B]
    assert desired(engine_conn, B) == BUDGET


def test_a_board_added_at_a_site_with_a_budget_gets_it(
    store: Store, clock: Clock, engine_conn: Conn
) -> None:
    clock.set(NOON_10_DEC)
    site_budget(engine_conn, A)
    engine_conn.execute(
        "INSERT INTO boards (id, site_id, name) SELECT 'lc-ma-lu-thang-09', site_id, 'new'"
        " FROM boards WHERE id = %s",
        (A,),
    )
    engine_conn.execute("UPDATE boards SET enabled = false WHERE id = %s", (B,))
    for board in (A, B, "lc-ma-lu-thang-09"):
        report(store, board, usage("2026-12-10", 1, 1, 1, 1))
    assert DataBudgetJob().run(engine_conn, clock.now) == [A, "lc-ma-lu-thang-09"]
    assert desired(engine_conn, "lc-ma-lu-thang-09") == BUDGET
    # without a budget the round leaves a board's configuration alone (a
    # removal is pushed by the API when it is removed)
    engine_conn.execute("DELETE FROM data_budgets")
    assert DataBudgetJob().run(engine_conn, clock.now) == []
    assert desired(engine_conn, A) == BUDGET


def test_daily_usage_kept_400_days_by_default(
    store: Store, clock: Clock, engine_conn: Conn
) -> None:
    clock.set(NOON_10_DEC)
    for days_ago in (0, 400, 401):  # measured that day (a reading names its own day)
        clock.set(NOON_10_DEC - timedelta(days=days_ago))
        report(store, A, usage(clock.now.date().isoformat(), 1, 1, 1, 1))
    clock.set(NOON_10_DEC)
    deleted = upkeep.apply_derived_retention(engine_conn, clock.now)
    assert deleted["board_data_usage"] == 1
    [[oldest]] = engine_conn.execute("SELECT min(day) FROM board_data_usage")
    assert (NOON_10_DEC.date() - oldest).days == 400
    with pytest.raises(ValueError, match="62 days"):
        upkeep.data_usage_retention(engine_conn, clock.now, 30)


@pytest.mark.parametrize(
    "bad", [{"data_budget_agent_version": "1.0 beta"}, {"data_usage_keep_days": 30}]
)
def test_bad_settings_stop_the_server_at_start(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match=next(iter(bad))):
        Settings(database_url="postgresql://x@localhost/fleet", **bad)  # type: ignore[arg-type]
