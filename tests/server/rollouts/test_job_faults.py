"""The rollout pass under faults: an engine killed mid-pass and two engines at
once (each board sent one update per rollout), boards disabled or deleted
mid-update (never a failure that aborts the rollout), reports that are not
the rollout's (another rollout, another version, replayed after healthy),
and broadcast windows across local midnight with the clock an hour off."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, time, timedelta

import psycopg
import pytest

import fleet_protocol as fp
from fleet_server.localtime import LOCAL_TZ
from fleet_server.rollouts.job import RolloutJob, RolloutSettings
from fleet_server.rollouts.models import Span, blocking_window
from tests.server.rollouts.conftest import BASE_URL, Fleet
from tests.support.wait import wait_for


class Killed(Exception):
    """The engine dies mid-pass: its transaction never commits."""


def _updates(fleet: Fleet) -> dict[str, int]:
    rows = fleet.conn.execute(
        "SELECT board_id, count(*) FROM board_commands WHERE command = 'update' GROUP BY 1"
    ).fetchall()
    return {str(b): int(n) for b, n in rows}


def _job(clock_step_s: float | None = None) -> RolloutJob:
    return RolloutJob(
        RolloutSettings(base_url=BASE_URL, every_s=0, window_margin_s=0, clock_step_s=clock_step_s)
    )


def test_engines_killed_or_racing_send_each_board_one_update(fleet: Fleet) -> None:
    rollout = fleet.create(waves=[{"count": 2}, {"count": 3}])
    try:
        with fleet.conn.transaction():
            _job().run(fleet.conn, fleet.clock())
            assert _updates(fleet) == {"b1": 1, "b2": 1}  # inside the dying pass
            raise Killed
    except Killed:
        pass
    assert _updates(fleet) == {}  # nothing of it stayed
    assert fleet.states(rollout.id)["b1"] == "pending"
    # two new engines at once: the second waits for the first's row lock,
    # then sees what it committed
    with psycopg.connect(fleet.url) as first, psycopg.connect(fleet.url) as second:
        _job().run(first, fleet.clock())
        done = threading.Event()

        def racing() -> None:
            _job().run(second, fleet.clock())
            second.commit()
            done.set()

        thread = threading.Thread(target=racing)
        thread.start()
        wait_for(
            lambda: (
                fleet.conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database()"
                ).fetchone()
                == (1,)
            ),
            what="the second engine waiting for the rollout's lock",
        )
        first.commit()
        thread.join(10)
        assert done.is_set()
    assert _updates(fleet) == {"b1": 1, "b2": 1}
    fleet.healthy(rollout.id, "b1", "b2")
    for _ in range(3):  # passes repeated, by a fresh engine each time
        fleet.run(_job())
    assert _updates(fleet) == {"b1": 1, "b2": 1, "b3": 1, "b4": 1, "b5": 1}


def test_boards_disabled_or_deleted_mid_update_never_abort_the_rollout(fleet: Fleet) -> None:
    rollout = fleet.create(
        target={"site_ids": [fleet.site_id("site-1")]}, waves=[{"count": 3}], max_failures=0
    )
    fleet.run()
    fleet.event("b1", rollout.id, "downloading", previous="1.0.0")
    fleet.run()
    with fleet.conn.transaction():
        fleet.conn.execute("UPDATE boards SET enabled = false WHERE id = 'b1'")
        fleet.conn.execute("DELETE FROM boards WHERE id = 'b2'")
    fleet.healthy(rollout.id, "b3")
    fleet.run()
    fleet.clock.advance(3 * 3600)  # past every timeout and the command's expiry
    fleet.run()
    ended = fleet.rollout(rollout.id)
    assert {b.board_id: (b.state, b.reason) for b in ended.boards} == {
        "b1": ("skipped", "board disabled during its update"),
        "b3": ("healthy", None),
    }
    assert (ended.state, ended.reason) == ("completed", None)


def test_reports_that_are_not_the_rollouts_never_count(fleet: Fleet) -> None:
    rollout = fleet.create(target={"board_ids": ["b1", "b2"]}, waves=[{"count": 2}], max_failures=5)
    fleet.run()
    # b1: healthy, but for another version, then for another rollout
    fleet.event("b1", rollout.id, "installed", previous="1.0.0")
    fleet.event("b1", rollout.id, "healthy", version="2.0.1", previous="1.0.0")
    fleet.event("b1", rollout.id + 1, "healthy", previous="1.0.0")
    fleet.event("b1", rollout.id, "healthy", version="2.0.0 ", previous="1.0.0")
    # b2: healthy, then old progress and a failure replayed from its spool
    fleet.healthy(rollout.id, "b2")
    for state in ("downloading", "installed", "rolled_back", "failed"):
        fleet.event("b2", rollout.id, state, previous="1.0.0", reason="old")
    fleet.run()
    assert fleet.states(rollout.id) == {"b1": "installed", "b2": "healthy"}
    fleet.clock.advance(300 + 120 + 1)  # the health deadline and its slack
    fleet.run()
    boards = {b.board_id: b for b in fleet.rollout(rollout.id).boards}
    assert boards["b1"].state == "failed"
    assert boards["b1"].version_after is None
    assert (boards["b2"].state, boards["b2"].version_after) == ("healthy", "2.0.0")


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=LOCAL_TZ)


def test_windows_across_local_midnight_and_an_hour_either_side() -> None:
    night = Span("morning", time(0), time(5))
    evening = Span("evening", time(19), time(23, 59))
    margin = timedelta(minutes=15)
    spans = [night, evening]
    assert blocking_window(spans, _local(7, 23, 50), margin) == evening
    assert blocking_window([night], _local(7, 23, 50), margin) == night  # tomorrow's, in 10 min
    assert blocking_window([night], _local(7, 23, 40), margin) is None
    assert blocking_window(spans, _local(8, 0, 0), margin) == night
    assert blocking_window(spans, _local(8, 4, 59), margin) == night
    assert blocking_window(spans, _local(8, 5, 0), margin) is None
    # the engine's clock an hour either side of 23:59:30 (in UTC, as it runs)
    for skew, expected in ((-1, evening), (0, night), (1, night)):
        at = _local(7, 23, 59) + timedelta(seconds=30, hours=skew)
        assert blocking_window(spans, at.astimezone(UTC), margin) == expected


def test_a_clock_stepped_an_hour_either_way_moves_the_timers_with_it(fleet: Fleet) -> None:
    job = _job(clock_step_s=300)
    rollout = fleet.create(
        target={"board_ids": ["b1", "b2"]}, waves=[{"count": 1}, {"count": 1}], pause_s=600
    )
    fleet.run(job)
    fleet.event("b1", rollout.id, "installed", previous="1.0.0")
    fleet.run(job)
    fleet.clock.advance(timedelta(hours=1))  # NTP steps the server's clock forward
    fleet.run(job)
    assert fleet.states(rollout.id)["b1"] == "installed"  # not failed by the step
    fleet.healthy(rollout.id, "b1")
    fleet.run(job)
    assert fleet.states(rollout.id)["b1"] == "healthy"
    pause_ends = fleet.rollout(rollout.id).next_wave_at
    assert pause_ends == fleet.clock() + timedelta(seconds=600)
    fleet.clock.advance(timedelta(hours=-1))  # and back
    assert job.due(fleet.clock())  # at once, not an hour later
    fleet.run(job)
    assert fleet.rollout(rollout.id).next_wave_at == pause_ends - timedelta(hours=1)
    for _ in range(2):  # the pause, passing pass by pass
        fleet.clock.advance(300)
        fleet.run(job)
    assert fleet.states(rollout.id)["b2"] == "sent"
    fleet.event("b2", rollout.id, "installed", previous="1.0.0")
    fleet.run(job)
    for _ in range(3):  # b2 never comes up: failed once the deadline really passed
        fleet.clock.advance(150)
        fleet.run(job)
    board = fleet.rollout(rollout.id).boards[1]
    assert (board.state, board.reason) == (
        "failed",
        "not reported healthy within 420 s of the switch",
    )


def _heartbeat(fleet: Fleet, board_id: str, version: str, boot: int) -> None:
    data = fp.HeartbeatData(
        uptime_s=1, agent_version=version, cpu_percent=1, memory_percent=1, disk_percent=1
    )
    fleet.store.reading(board_id, fp.TelemetryKind.HEARTBEAT, data, boot=boot)


def test_healthy_counts_only_once_the_board_runs_the_version(fleet: Fleet) -> None:
    rollout = fleet.create(target={"board_ids": ["b1", "b2"]}, waves=[{"count": 2}], max_failures=5)
    fleet.run()
    for board_id in ("b1", "b2"):
        _heartbeat(fleet, board_id, "1.0.0", boot=1)
    fleet.event("b1", rollout.id, "installed", previous="1.0.0")
    fleet.event("b1", rollout.id, "healthy", previous="1.0.0")
    fleet.answer("b2", fleet.request_id(rollout.id, "b2"), "ok",
                 output={"state": "healthy", "already": True})  # fmt: skip
    fleet.run()
    wrong = "reported healthy, but its agent runs 1.0.0"
    boards = {b.board_id: (b.state, b.reason) for b in fleet.rollout(rollout.id).boards}
    assert boards == {"b1": ("installed", wrong), "b2": ("sent", wrong)}
    for board_id in ("b1", "b2"):  # the new version's first heartbeat
        _heartbeat(fleet, board_id, "2.0.0", boot=2)
    fleet.run()
    boards = {b.board_id: (b.state, b.reason) for b in fleet.rollout(rollout.id).boards}
    assert boards == {"b1": ("healthy", None), "b2": ("healthy", "already running this version")}
    assert fleet.rollout(rollout.id).state == "completed"


def test_a_release_in_use_cannot_be_deleted(fleet: Fleet) -> None:
    rollout = fleet.create(target={"board_ids": ["b1"]}, waves=[{"count": 1}])
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        fleet.conn.execute("DELETE FROM releases WHERE version = '2.0.0'")
    fleet.run()
    assert fleet.states(rollout.id) == {"b1": "sent"}
