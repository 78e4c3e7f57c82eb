"""The engine against a real PostgreSQL: state machine, incidents, site root
cause, flapping, concurrency and leader election."""

from __future__ import annotations

import threading
from typing import Any

import psycopg

from fleet_server.engine.conditions import Timing
from fleet_server.engine.rules import RuleSettings
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.incidents import storage as incidents_db
from tests.server.engine.conftest import Conn, Store, incidents
from tests.support.clock import Clock
from tests.support.wait import wait_for

A, B = "lc-ma-lu-thang-01", "lc-ma-lu-thang-02"  # the two boards at Ma Lù Thàng
C = "lc-sin-ho-01"


def status(conn: Conn, board: str) -> tuple[Any, ...] | None:
    return conn.execute(
        "SELECT state, reason, boot, seq FROM board_status WHERE board_id = %s", (board,)
    ).fetchone()


def test_birth_will_and_stale_will(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(A, "online", seq=5)
    engine.evaluate(engine_conn)
    assert status(engine_conn, A)[:1] == ("online",)  # type: ignore[index]
    store.state(A, "lost", seq=6)  # this connection's will: newer than its birth
    result = engine.evaluate(engine_conn)
    assert status(engine_conn, A)[0] == "lost"  # type: ignore[index]
    [incident] = incidents(engine_conn)
    assert incident[1:4] == ("board_lost", "open", A)
    assert result.opened == [incident[0]]
    # reconnect: birth 8 (will 9 registered); the broker then delivers the old will 6
    store.state(A, "online", seq=8)
    store.state(A, "lost", seq=6)
    engine.evaluate(engine_conn)
    assert status(engine_conn, A)[:4] == ("online", "birth: agent connected", 1, 8)  # type: ignore[index]
    history = engine_conn.execute(
        "SELECT state FROM board_status_history WHERE board_id = %s ORDER BY id", (A,)
    ).fetchall()
    assert [h[0] for h in history] == ["online", "lost", "online"]


def test_lost_incident_resolves_after_clear_for(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    store.state(C, "online")
    clock.advance(30)
    engine.evaluate(engine_conn)  # back online: the clear-for (60 s) starts
    clock.advance(59)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn)[0][2] == "open"  # back, but not for 60 s yet
    clock.advance(1)
    result = engine.evaluate(engine_conn)
    assert incidents(engine_conn)[0][2] == "resolved"
    assert len(result.resolved) == 1


def test_silent_board_goes_stale_after_three_intervals(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(C, "online", interval=30)
    store.heartbeat(C)
    engine.evaluate(engine_conn)
    clock.advance(89)
    engine.evaluate(engine_conn)
    assert status(engine_conn, C)[0] == "online"  # type: ignore[index]
    clock.advance(2)
    engine.evaluate(engine_conn)
    state = status(engine_conn, C)
    assert state[0] == "stale"  # type: ignore[index]
    assert "no heartbeat" in state[1]  # type: ignore[index]
    assert incidents(engine_conn)[0][1:3] == ("board_stale", "open")
    store.heartbeat(C)
    engine.evaluate(engine_conn)
    assert status(engine_conn, C)[0] == "online"  # type: ignore[index]


def test_whole_site_down_is_one_site_incident(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    for board in (A, B):
        store.state(board, "online")
        store.power(board, mains=False)  # on UPS battery before the end
    engine.evaluate(engine_conn)
    for board in (A, B):
        store.state(board, "lost")
    engine.evaluate(engine_conn)
    rows = incidents(engine_conn)
    site = [r for r in rows if r[1] == "site_outage"]
    boards = [r for r in rows if r[1] == "board_lost"]
    assert len(site) == 1
    assert {r[3] for r in boards} == {A, B}
    assert all(r[5] == site[0][0] for r in boards)  # attached to the site incident
    details = engine_conn.execute(
        "SELECT details->>'cause' FROM incidents WHERE id = %s", (site[0][0],)
    ).fetchone()
    assert details == ("power",)


def test_one_board_down_is_not_a_site_incident(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(A, "online")
    store.state(B, "online")
    store.state(A, "lost")
    engine.evaluate(engine_conn)
    assert [r[1] for r in incidents(engine_conn)] == ["board_lost"]


def test_flapping_board_gives_one_flapping_incident(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    for _ in range(5):
        store.state(C, "online")
        engine.evaluate(engine_conn)
        clock.advance(20)
        store.state(C, "lost")
        engine.evaluate(engine_conn)
        clock.advance(20)
    rows = incidents(engine_conn)
    assert len(rows) == 1
    assert rows[0][6] is True  # flagged flapping
    assert rows[0][2] == "open"


def test_two_engines_at_once_open_one_incident(seeded: str, store: Store, clock: Clock) -> None:
    store.state(C, "online")
    store.state(C, "lost")
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(seeded) as conn:
                barrier.wait()
                Engine(seeded, clock=clock).evaluate(conn)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with psycopg.connect(seeded) as conn:
        assert len(incidents(conn, "rule = 'board_lost'")) == 1
    # A loser may fail its pass on the board_status upsert race; it retries on
    # its next tick. What may never happen is a second incident.
    assert all(
        isinstance(e, psycopg.errors.UniqueViolation | psycopg.errors.SerializationFailure)
        for e in errors
    )


def test_standby_takes_over_when_the_leader_stops(seeded: str) -> None:
    settings = EngineSettings(tick_s=0.1, standby_retry_s=0.2)
    first, second = Engine(seeded, settings), Engine(seeded, settings)
    stop_first, stop_second = threading.Event(), threading.Event()
    t1 = threading.Thread(target=first.run_forever, args=(stop_first,))
    t1.start()
    assert first.is_leader.wait(10)
    t2 = threading.Thread(target=second.run_forever, args=(stop_second,))
    t2.start()
    wait_for(lambda: second.passes == 0 and first.passes > 2, what="leader working")
    assert not second.is_leader.is_set()
    stop_first.set()
    t1.join(10)
    assert second.is_leader.wait(10)
    wait_for(lambda: second.passes > 0, what="standby evaluating")
    stop_second.set()
    t2.join(10)


def test_rule_timing_is_configurable(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    rules = RuleSettings(board_lost=Timing(for_s=120, clear_for_s=60))
    engine = Engine(seeded, EngineSettings(rules=rules), clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    assert incidents(engine_conn) == []
    clock.advance(120)
    engine.evaluate(engine_conn)
    assert len(incidents(engine_conn)) == 1


def test_relapse_soon_after_resolution_reopens_the_same_incident(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    store.state(C, "online")
    engine.evaluate(engine_conn)
    clock.advance(61)
    engine.evaluate(engine_conn)  # resolved
    clock.advance(300)
    store.state(C, "lost")  # five minutes later: the same problem again
    engine.evaluate(engine_conn)
    rows = engine_conn.execute("SELECT id, state, reopen_count FROM incidents").fetchall()
    assert len(rows) == 1
    assert rows[0][1:] == ("open", 1)
    kinds = [k for k, _a, _n in incidents_db.events(engine_conn, rows[0][0])]
    assert kinds == ["opened", "resolved", "reopened"]


def test_site_override_delays_board_lost(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    site = engine_conn.execute("SELECT site_id FROM boards WHERE id = %s", (C,)).fetchone()
    assert site is not None
    engine_conn.execute(
        "INSERT INTO rule_overrides (rule, site_id, params) VALUES ('board_lost', %s, %s)",
        (site[0], '{"for_s": 300}'),
    )
    engine = Engine(seeded, clock=clock)
    store.state(C, "online")
    store.state(C, "lost")
    engine.evaluate(engine_conn)
    clock.advance(299)
    engine.evaluate(engine_conn)
    assert incidents(engine_conn) == []
    clock.advance(1)
    engine.evaluate(engine_conn)
    assert [r[1] for r in incidents(engine_conn)] == ["board_lost"]


def test_configured_interval_used_when_the_birth_has_none(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine_conn.execute("UPDATE boards SET heartbeat_interval_s = 10 WHERE id = %s", (C,))
    engine = Engine(seeded, clock=clock)
    store.state(C, "online", interval=None)  # an agent that does not announce it
    engine.evaluate(engine_conn)
    clock.advance(31)
    engine.evaluate(engine_conn)
    assert status(engine_conn, C)[0] == "stale"  # type: ignore[index]


def test_pipeline_stall_is_not_every_board_stale(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    boards = [r[0] for r in engine_conn.execute("SELECT id FROM boards ORDER BY id")]
    assert len(boards) >= 10
    engine = Engine(seeded, clock=clock)
    for board in boards:
        store.state(board, "online")
        store.heartbeat(board)
    engine.evaluate(engine_conn)
    clock.advance(120)  # nothing at all arrives: ingest is stuck, not 14 boards
    engine.evaluate(engine_conn)
    assert engine.pipeline_silent
    assert incidents(engine_conn) == []
    store.heartbeat(boards[0])  # the pipeline is back; the others really are silent
    engine.evaluate(engine_conn)
    assert not engine.pipeline_silent
    stale = engine_conn.execute(
        "SELECT count(*) FROM board_status WHERE state = 'stale'"
    ).fetchone()
    assert stale == (len(boards) - 1,)


def test_replaced_controller_counting_from_boot_1_is_followed(
    seeded: str, store: Store, clock: Clock, engine_conn: Conn
) -> None:
    engine = Engine(seeded, clock=clock)
    store.state(C, "online", boot=7)
    store.state(C, "lost", boot=7)
    engine.evaluate(engine_conn)
    clock.advance(3600)  # a technician swaps the controller; its spool is new
    store.state(C, "online", boot=1, seq=0)
    engine.evaluate(engine_conn)
    assert status(engine_conn, C)[0::2] == ("online", 1)  # type: ignore[index]
