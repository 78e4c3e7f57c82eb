"""A board's clock — behind, ahead, stepped back or absurd — never decides
whether the board is silent or its readings current: the engine judges on
the server's clock (board_latest.observed_at, received_at) and flags the
board's clock with clock_skew. Messages go through ingest's BatchWriter, the
engine's passes run against the real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import fleet_protocol as fp
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.telemetry.storage import Accepted
from tests.server.engine.conftest import Conn, Store, incidents
from tests.server.engine.test_telemetry_rules import approve
from tests.support.clock import Clock

BOARD = "lc-sin-ho-01"
HOUR = timedelta(hours=1)
INTERVAL_S = 30  # the heartbeat interval Store.state announces


def engine_for(seeded: str, clock: Clock) -> Engine:
    return Engine(seeded, EngineSettings(telemetry_every_s=0), clock=clock)


def live(
    engine: Engine,
    conn: Conn,
    store: Store,
    clock: Clock,
    seconds: float,
    *,
    disk_percent: float = 1,
    loss_percent: float | None = None,
) -> None:
    """The board reports every interval for ``seconds``; a pass after each."""
    for _ in range(int(seconds // INTERVAL_S)):
        store.heartbeat(BOARD, disk_percent=disk_percent)
        if loss_percent is not None:
            store.reading(
                BOARD,
                fp.TelemetryKind.NETWORK,
                fp.NetworkData(link_up=True, rtt_ms=80, loss_percent=loss_percent),
            )
        engine.evaluate(conn)
        clock.advance(INTERVAL_S)


def silent(engine: Engine, conn: Conn, clock: Clock, seconds: float) -> None:
    for _ in range(int(seconds // INTERVAL_S)):
        engine.evaluate(conn)
        clock.advance(INTERVAL_S)


def open_rules(conn: Conn) -> set[str]:
    return {r[1] for r in incidents(conn, "state <> 'resolved'")}


def board_state(conn: Conn) -> str:
    row = conn.execute("SELECT state FROM board_status WHERE board_id = %s", (BOARD,)).fetchone()
    assert row is not None
    return str(row[0])


def active_conditions(conn: Conn) -> set[str]:
    return {
        str(r[0]).split(":", 2)[2]
        for r in conn.execute(
            "SELECT dedupe_key FROM rule_conditions WHERE active AND dedupe_key LIKE %s",
            (f"board:{BOARD}:%",),
        )
    }


def skew_s(conn: Conn) -> int:
    row = conn.execute(
        "SELECT (details->>'skew_s')::int FROM incidents WHERE rule = 'clock_skew'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def far_future_heartbeat(store: Store) -> None:
    """A heartbeat dated 9999-12-31, built past the protocol (which refuses
    it) and written as ingest writes what it accepted."""
    end = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    message = fp.HeartbeatMessage.model_construct(
        schema_version=1,
        device_id=BOARD,
        boot=1,
        seq=store._seq(BOARD, 1),
        measured_at=end,
        sent_at=end,
        replay=False,
        data=fp.HeartbeatData(
            uptime_s=1, agent_version="0.1.0", cpu_percent=1, memory_percent=1, disk_percent=1
        ),
    )
    payload = message.model_dump_json().encode()  # fp.encode would refuse it
    topic = fp.telemetry_topic(BOARD, "heartbeat")
    store.writer.write([Accepted(message, store.clock(), topic, payload)], [])


@pytest.mark.parametrize("jump", ["an hour ahead", "to the year 9999"])
def test_clock_stepped_back_the_board_stays_fresh(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn, jump: str
) -> None:
    engine = engine_for(seeded, clock)
    store.state(BOARD, "online")
    if jump == "an hour ahead":
        store.board_clock = HOUR
        live(engine, engine_conn, store, clock, 120)
    else:
        far_future_heartbeat(store)
        silent(engine, engine_conn, clock, INTERVAL_S)
    store.board_clock = timedelta(0)  # NTP steps the clock back
    live(engine, engine_conn, store, clock, 300, disk_percent=95)
    assert board_state(engine_conn) == "online"
    assert "board_stale" not in open_rules(engine_conn)
    latest = engine_conn.execute(
        "SELECT seq, (data->>'disk_percent')::float FROM board_latest"
        " WHERE device_id = %s AND kind = 'heartbeat'",
        (BOARD,),
    ).fetchone()
    assert latest == (store.seq[(BOARD, 1)] - 1, 95.0)
    assert "disk_full" in active_conditions(engine_conn)  # the current reading is judged


def test_clock_an_hour_behind_readings_count_and_the_clock_is_flagged(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = engine_for(seeded, clock)
    store.board_clock = -HOUR
    store.state(BOARD, "online")
    live(engine, engine_conn, store, clock, 11 * 60, disk_percent=95, loss_percent=50)
    assert open_rules(engine_conn) == {"disk_full", "network_degraded", "clock_skew"}
    assert skew_s(engine_conn) == 3600  # the board's clock is an hour behind


def test_clock_an_hour_ahead_readings_count_while_current_and_the_clock_is_flagged(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = engine_for(seeded, clock)
    store.board_clock = HOUR
    store.state(BOARD, "online")
    live(engine, engine_conn, store, clock, 330, disk_percent=95)
    assert open_rules(engine_conn) == {"clock_skew"}
    assert skew_s(engine_conn) == -3600  # an hour ahead
    assert "disk_full" in active_conditions(engine_conn)  # seen, not yet for 10 minutes
    # The board falls silent. Its last reading is dated an hour ahead, yet it
    # stops counting once it is old by the server's clock: disk_full's ten
    # minutes never complete on it.
    silent(engine, engine_conn, clock, 600)
    assert open_rules(engine_conn) == {"clock_skew", "board_stale"}


def test_a_replayed_reading_is_not_current(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = engine_for(seeded, clock)
    store.board_clock = HOUR  # its dates alone would make the replay look current
    store.state(BOARD, "online")
    store.heartbeat(BOARD)
    # back from an outage: the spool replays a reading held for 10 minutes
    store.power(BOARD, mains=False, held=timedelta(minutes=10))
    for _ in range(4):
        engine.evaluate(engine_conn)
        clock.advance(INTERVAL_S)
        store.heartbeat(BOARD)
    assert "mains_lost" not in active_conditions(engine_conn)
    assert open_rules(engine_conn) == set()
    store.power(BOARD, mains=False)  # a live reading is judged
    live(engine, engine_conn, store, clock, 90)
    assert open_rules(engine_conn) == {"mains_lost"}


def test_content_validity_is_judged_on_the_server_clock(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    """A board an hour behind shows content whose approval ended 5 minutes ago."""
    sha = "cd" * 32
    approve(engine_conn, sha, clock() - timedelta(days=30), clock() - timedelta(minutes=5))
    engine = Engine(seeded, clock=clock)
    store.board_clock = -HOUR
    store.state(BOARD, "online")
    store.reading(
        BOARD,
        fp.TelemetryKind.DISPLAY,
        fp.DisplayData(screen_on=True, player_running=True, content_sha256=sha),
    )
    engine.evaluate(engine_conn)
    details = engine_conn.execute("SELECT details->>'why' FROM incidents").fetchall()
    assert details == [("outside its approved validity",)]


def test_a_replaced_controller_takes_over(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = engine_for(seeded, clock)
    store.state(BOARD, "online", boot=50)
    for _ in range(4):
        store.heartbeat(BOARD, boot=50)
        engine.evaluate(engine_conn)
        clock.advance(INTERVAL_S)
    store.state(BOARD, "lost", boot=50)
    silent(engine, engine_conn, clock, 180)  # the technician swaps the controller
    store.state(BOARD, "online", boot=1)  # a new spool: boots from 1 again
    for _ in range(4):
        store.heartbeat(BOARD, boot=1, disk_percent=95)
        engine.evaluate(engine_conn)
        clock.advance(INTERVAL_S)
    assert board_state(engine_conn) == "online"
    latest = engine_conn.execute(
        "SELECT boot FROM board_latest WHERE device_id = %s AND kind = 'heartbeat'", (BOARD,)
    ).fetchone()
    assert latest == (1,)
    assert "disk_full" in active_conditions(engine_conn)
