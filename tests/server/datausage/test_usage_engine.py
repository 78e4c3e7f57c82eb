"""Data usage end to end below the API: ingest stores what boards report
(columns on telemetry_network, one row per board and day by trigger), the
month and its forecast, and the engine's data_budget findings opening before
the budget runs out, at 100 %, and resolving next month or when raised."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import fleet_protocol as fp
from fleet_server.datausage import forecast, judging, storage
from fleet_server.datausage.models import DayUsage
from fleet_server.engine.service import Engine, EngineSettings
from tests.server.engine.conftest import Conn, Store, incidents
from tests.support.clock import Clock

A, B = "lc-ma-lu-thang-01", "lc-ma-lu-thang-02"
MB = 1_000_000
#: 10 December 2026, noon in Vietnam: 21.5 days left in the month.
NOON_10_DEC = datetime(2026, 12, 10, 5, tzinfo=UTC)


def usage(
    day: str, sent: int, received: int, month_sent: int, month_received: int, factor: int = 1
) -> fp.DataUsage:
    return fp.DataUsage(
        day=day,
        day_sent=sent,
        day_received=received,
        month=day[:7],
        month_sent=month_sent,
        month_received=month_received,
        factor=factor,  # type: ignore[arg-type]
    )


def report(store: Store, board: str, data_usage: fp.DataUsage | None) -> None:
    store.reading(
        board, fp.TelemetryKind.NETWORK, fp.NetworkData(link_up=True, data_usage=data_usage)
    )


def day_row(conn: Conn, board: str, day: date) -> tuple[object, ...] | None:
    return conn.execute(
        "SELECT sent, received, month_sent, month_received, factor FROM board_data_usage"
        " WHERE device_id = %s AND day = %s",
        (board, day),
    ).fetchone()


def test_ingest_keeps_the_largest_counters_of_each_day(
    store: Store, clock: Clock, engine_conn: Conn
) -> None:
    clock.set(NOON_10_DEC)
    report(store, A, usage("2026-12-10", 100, 200, 1_100, 2_200))
    report(store, A, usage("2026-12-10", 150, 260, 1_150, 2_260, factor=2))
    # replayed late from the spool: older, smaller counters change nothing but
    # never lower what is stored
    store.reading(
        A,
        fp.TelemetryKind.NETWORK,
        fp.NetworkData(link_up=True, data_usage=usage("2026-12-10", 50, 60, 1_050, 2_060)),
        held=timedelta(hours=1),
    )
    report(store, A, None)  # an agent that does not count: no row
    assert day_row(engine_conn, A, date(2026, 12, 10)) == (150, 260, 1_150, 2_260, 2)
    stored = engine_conn.execute(
        "SELECT count(*), count(usage_day) FROM telemetry_network WHERE device_id = %s", (A,)
    ).fetchone()
    assert stored == (4, 3)
    # a message stored twice (redelivered) is one row and changes nothing
    assert engine_conn.execute("SELECT count(*) FROM board_data_usage").fetchone() == (1,)


def _day(day: date, total: int, month_total: int) -> DayUsage:
    return DayUsage(
        day,
        total // 2,
        total - total // 2,
        month_total // 2,
        month_total - month_total // 2,
        1,
        "tcp_info",
        NOON_10_DEC,
    )


def test_the_forecast_is_used_plus_the_weeks_average_for_the_days_left() -> None:
    days = [_day(date(2026, 12, d), 2 * MB, 2 * MB * d) for d in range(1, 10)]
    days.append(_day(date(2026, 12, 10), 1 * MB, 19 * MB))
    month = forecast.month_usage(days, NOON_10_DEC)
    assert month.used == 19 * MB
    assert month.daily_rate == 2 * MB
    assert month.forecast == 19 * MB + round(2 * MB * 21.5)
    assert [d.day.day for d in month.days] == list(range(1, 11))
    # the month counter wins when the board's own days are missing (it was away)
    month = forecast.month_usage([_day(date(2026, 12, 10), 1 * MB, 30 * MB)], NOON_10_DEC)
    assert month.used == 30 * MB
    # a first day: today's rate once an hour of it has passed
    first = forecast.month_usage([_day(date(2026, 12, 10), 1 * MB, 1 * MB)], NOON_10_DEC)
    assert first.daily_rate == 2 * MB  # 1 MB in 12 hours
    assert forecast.month_usage([], NOON_10_DEC).forecast == 0


def test_findings_open_before_the_budget_runs_out_and_resolve(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    clock.set(NOON_10_DEC - timedelta(days=3))
    engine = Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)
    storage.set_budget(
        engine_conn,
        board_id=A,
        site_id=None,
        monthly_bytes=60 * MB,
        adaptive=False,
        actor="t",
        now=clock(),
    )
    store.state(A, "online")
    store.heartbeat(A)
    month = 0
    for d in (7, 8, 9, 10):  # 2.5 MB a day: 2.5 × 31 days = 77.5 MB > 60 MB
        month += 2_500_000
        clock.set(datetime(2026, 12, d, 5, tzinfo=UTC))
        report(
            store,
            A,
            usage(
                f"2026-12-{d:02d}", 1_250_000, 1_250_000, month // 2 + 10 * MB, month // 2 + 10 * MB
            ),
        )
        store.heartbeat(A)
        engine.evaluate(engine_conn)
    [found] = incidents(engine_conn, "rule LIKE 'data_budget%'")
    assert found[1:4] == ("data_budget_forecast", "open", A)
    judged = judging.judgements(engine_conn, clock(), None)[A]
    assert judged.usage.used == 30 * MB
    assert not judged.spent
    # the budget raised above the forecast: resolved
    storage.set_budget(
        engine_conn,
        board_id=A,
        site_id=None,
        monthly_bytes=200 * MB,
        adaptive=False,
        actor="t",
        now=clock(),
    )
    store.heartbeat(A)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn, "rule LIKE 'data_budget%'")[0][2] == "resolved"
    # lowered under what is used: spent (not also "forecast")
    storage.set_budget(
        engine_conn,
        board_id=A,
        site_id=None,
        monthly_bytes=20 * MB,
        adaptive=False,
        actor="t",
        now=clock(),
    )
    store.heartbeat(A)
    engine.evaluate(engine_conn)
    open_ = incidents(engine_conn, "rule LIKE 'data_budget%' AND state = 'open'")
    assert [i[1] for i in open_] == ["data_budget_spent"]
    # a new month: nothing used yet, resolved
    clock.set(datetime(2027, 1, 1, 1, tzinfo=UTC))
    store.heartbeat(A)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn, "rule LIKE 'data_budget%' AND state = 'open'") == []


def test_a_site_budget_applies_unless_the_board_has_its_own(engine_conn: Conn) -> None:
    site = engine_conn.execute("SELECT site_id FROM boards WHERE id = %s", (A,)).fetchone()
    assert site is not None
    now = NOON_10_DEC
    assert storage.budgets(engine_conn, [A, B], None) == {}
    assert storage.budgets(engine_conn, [A], 5 * MB)[A].source == "default"
    storage.set_budget(
        engine_conn,
        board_id=None,
        site_id=site[0],
        monthly_bytes=50 * MB,
        adaptive=True,
        actor="t",
        now=now,
    )
    storage.set_budget(
        engine_conn,
        board_id=B,
        site_id=None,
        monthly_bytes=80 * MB,
        adaptive=False,
        actor="t",
        now=now,
    )
    found = storage.budgets(engine_conn, [A, B], 5 * MB)
    assert (found[A].monthly_bytes, found[A].adaptive, found[A].source) == (50 * MB, True, "site")
    assert (found[B].monthly_bytes, found[B].source) == (80 * MB, "board")
    assert storage.site_boards_without_own(engine_conn, site[0]) == [A]
