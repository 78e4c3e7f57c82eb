"""The engine's rollout pass on a clock the test moves: waves and the pause
between them, the abort threshold, broadcast windows and maintenance holds
(and ``force``), timeouts, commands refused or expired, and a new engine
taking over a rollout mid-wave."""

from __future__ import annotations

from datetime import UTC, time, timedelta

import psycopg

from fleet_protocol import releases as fr
from fleet_server.access.principal import Actor
from fleet_server.commands import storage as commands
from fleet_server.engine.service import Engine, EngineSettings
from fleet_server.rollouts import service
from fleet_server.rollouts.job import RolloutJob, RolloutSettings
from tests.server.rollouts.conftest import ADMIN, BASE_URL, Fleet


def _commands(fleet: Fleet) -> list[tuple[str, str]]:
    rows = fleet.conn.execute(
        "SELECT board_id, command FROM board_commands ORDER BY board_id"
    ).fetchall()
    return [(str(b), str(c)) for b, c in rows]


def test_two_waves_with_a_pause_between_them_complete(fleet: Fleet) -> None:
    rollout = fleet.create(waves=[{"count": 2}, {"percent": 100}], pause_s=600)
    fleet.run()
    assert fleet.states(rollout.id) == {
        "b1": "sent", "b2": "sent", "b3": "pending", "b4": "pending", "b5": "pending",
    }  # fmt: skip
    command = commands.get_command(fleet.conn, fleet.request_id(rollout.id, "b1"), fleet.clock())
    assert command is not None
    assert command.state == "queued"
    assert command.created_by == "engine"
    args = fr.check_update_args(command.args)  # what the agent checks
    assert args.url == f"{BASE_URL}/edge-agent-2.0.0.tar.gz"
    assert args.rollout_id == rollout.id
    assert args.health_deadline_s == 300
    # queued for the API's command retry to publish at once
    [[attempt]] = fleet.conn.execute("SELECT last_attempt_at FROM board_commands LIMIT 1")
    assert attempt is None

    fleet.healthy(rollout.id, "b1", "b2")
    fleet.run()
    assert fleet.states(rollout.id)["b1"] == "healthy"
    assert fleet.rollout(rollout.id).next_wave_at == fleet.clock() + timedelta(seconds=600)
    fleet.clock.advance(599)
    fleet.run()
    assert fleet.states(rollout.id)["b3"] == "pending"  # still pausing
    fleet.clock.advance(1)
    fleet.run()
    assert [s for b, s in fleet.states(rollout.id).items() if b in ("b3", "b4", "b5")] == [
        "sent"
    ] * 3
    assert fleet.rollout(rollout.id).current_wave == 2
    fleet.healthy(rollout.id, "b3", "b4", "b5")
    fleet.run()
    done = fleet.rollout(rollout.id)
    assert done.state == "completed"
    assert done.counts == {"healthy": 5}
    assert all(b.version_after == "2.0.0" for b in done.boards)
    assert ("b6", "update") not in _commands(fleet)  # org-b was never targeted


def test_a_board_that_rolls_back_aborts_at_the_threshold(fleet: Fleet) -> None:
    rollout = fleet.create(waves=[{"count": 1}, {"count": 4}], max_failures=0)
    fleet.run()
    fleet.event("b1", rollout.id, "installed", previous="1.0.0")
    fleet.run()
    assert fleet.states(rollout.id)["b1"] == "installed"
    fleet.event("b1", rollout.id, "rolled_back", previous="1.0.0", reason="crash loop")
    fleet.run()
    ended = fleet.rollout(rollout.id)
    assert ended.state == "aborted"
    assert ended.reason == "1 failures of 1 boards tried exceed the threshold of 0 boards"
    b1 = ended.boards[0]
    assert (b1.state, b1.reason, b1.version_after) == ("rolled_back", "crash loop", "1.0.0")
    assert {b.state for b in ended.boards[1:]} == {"cancelled"}
    assert _commands(fleet) == [("b1", "update")]  # the second wave never got it
    [[actor]] = fleet.conn.execute("SELECT actor FROM audit_log WHERE action = 'rollout.abort'")
    assert actor == "engine"


def test_a_percentage_threshold_counts_the_boards_tried(fleet: Fleet) -> None:
    rollout = fleet.create(waves=[{"count": 2}, {"count": 3}], max_failure_percent=50)
    fleet.run()
    fleet.answer("b1", fleet.request_id(rollout.id, "b1"), "rejected", error="bad signature")
    fleet.healthy(rollout.id, "b2")
    fleet.run()
    states = fleet.rollout(rollout.id)
    assert states.state == "running"  # 1 of 2 is not more than 50 %
    assert states.boards[0].reason == "the board rejected the update: bad signature"
    fleet.run()
    assert fleet.states(rollout.id)["b3"] == "sent"
    fleet.event("b3", rollout.id, "failed", reason="sha256 mismatch")
    fleet.run()
    assert fleet.rollout(rollout.id).state == "running"  # 2 of the 5 tried
    fleet.event("b4", rollout.id, "failed", reason="disk full")
    fleet.run()
    ended = fleet.rollout(rollout.id)
    assert ended.state == "aborted"
    assert ended.reason == (
        "3 failures of 5 boards tried exceed the threshold of 50 % of the boards tried"
    )


def test_waits_outside_broadcast_windows_unless_forced(fleet: Fleet) -> None:
    # 10:00 local: site-1 is on air until 10:30; site-2's window ended at 09:00
    with fleet.conn.transaction():
        windows = (
            ("site-1", time(9), time(10, 30)),
            ("site-2", time(7), time(9)),
            ("site-3", time(9), time(10, 30)),
        )
        for site, start, end in windows:
            fleet.conn.execute(
                "INSERT INTO broadcast_windows (site_id, part, starts_at, ends_at)"
                " SELECT id, 'morning', %s, %s FROM sites WHERE code = %s",
                (start, end, site),
            )
    rollout = fleet.create(waves=[{"percent": 100}])
    fleet.run()
    states = fleet.rollout(rollout.id).boards
    assert [(b.board_id, b.state) for b in states] == [
        ("b1", "waiting"), ("b2", "waiting"), ("b3", "waiting"), ("b4", "sent"), ("b5", "sent"),
    ]  # fmt: skip
    assert states[0].reason == "morning broadcast window 09:00-10:30 on air or about to start"
    fleet.clock.advance(timedelta(minutes=30))
    fleet.run()
    assert set(fleet.states(rollout.id).values()) == {"sent"}

    held = fleet.create(waves=[{"count": 1}], target={"board_ids": ["b6"]})
    forced = fleet.create(waves=[{"count": 1}], target={"board_ids": ["b6"]}, force=True)
    fleet.clock.set(fleet.clock() - timedelta(minutes=30))  # 10:00, on air again
    fleet.run()
    assert fleet.states(held.id) == {"b6": "waiting"}
    assert fleet.states(forced.id) == {"b6": "sent"}


def test_a_board_is_not_updated_just_before_its_window(fleet: Fleet) -> None:
    with fleet.conn.transaction():
        fleet.conn.execute(
            "INSERT INTO broadcast_windows (board_id, part, starts_at, ends_at)"
            " VALUES ('b1', 'morning', '10:10', '11:00')"
        )
    rollout = fleet.create(target={"board_ids": ["b1"]}, waves=[{"count": 1}])
    job = RolloutJob(RolloutSettings(base_url=BASE_URL, every_s=0, window_margin_s=900))
    fleet.run(job)
    assert fleet.states(rollout.id) == {"b1": "waiting"}  # starts within 15 min


def test_waits_while_a_maintenance_window_holds_the_site(fleet: Fleet) -> None:
    now = fleet.clock()
    with fleet.conn.transaction():
        fleet.conn.execute(
            "INSERT INTO maintenance_windows (site_id, starts_at, ends_at, reason, created_by)"
            " SELECT id, %s, %s, 'thay bộ nguồn', 'test' FROM sites WHERE code = 'site-2'",
            (now - timedelta(hours=1), now + timedelta(hours=1)),
        )
    rollout = fleet.create(target={"site_ids": [fleet.site_id("site-2")]}, waves=[{"count": 2}])
    fleet.run()
    board = fleet.rollout(rollout.id).boards[0]
    assert (board.state, board.reason) == (
        "waiting", "maintenance window on the board or its site",
    )  # fmt: skip
    fleet.clock.advance(timedelta(hours=1, seconds=1))
    fleet.run()
    assert set(fleet.states(rollout.id).values()) == {"sent"}


def test_timeouts_expiry_and_an_agent_already_on_the_version(fleet: Fleet) -> None:
    rollout = fleet.create(
        target={"site_ids": [fleet.site_id("site-1")]},
        waves=[{"count": 3}],
        max_failures=5,
        health_deadline_s=60,
    )
    fleet.run()
    fleet.event("b1", rollout.id, "installed", previous="1.0.0")
    fleet.answer("b2", fleet.request_id(rollout.id, "b2"), "ok",
                 output={"state": "healthy", "already": True})  # fmt: skip
    fleet.run()
    fleet.clock.advance(60 + 120 + 1)  # the deadline and the slack
    fleet.run()
    boards = {b.board_id: b for b in fleet.rollout(rollout.id).boards}
    assert (boards["b1"].state, boards["b1"].reason) == (
        "failed", "not reported healthy within 180 s of the switch",
    )  # fmt: skip
    assert (boards["b2"].state, boards["b2"].reason) == ("healthy", "already running this version")
    assert boards["b3"].state == "sent"
    fleet.clock.advance(3600)  # b3 never answered: its command expires
    fleet.run()
    b3 = fleet.rollout(rollout.id).boards[2]
    assert b3.state == "failed"
    assert b3.reason is not None
    assert "expired" in b3.reason
    assert fleet.rollout(rollout.id).state == "completed"


def test_a_new_engine_takes_over_a_rollout_mid_wave(fleet: Fleet) -> None:
    settings = EngineSettings(
        rollouts=RolloutSettings(base_url=BASE_URL, every_s=0, window_margin_s=0)
    )
    rollout = fleet.create(waves=[{"count": 2}, {"count": 3}])
    with psycopg.connect(fleet.url, autocommit=True) as conn:
        Engine(fleet.url, settings, clock=fleet.clock).evaluate(conn)
    assert fleet.states(rollout.id)["b2"] == "sent"
    fleet.healthy(rollout.id, "b1")
    # the first engine is gone; another one carries on from the database
    with psycopg.connect(fleet.url, autocommit=True) as conn:
        engine = Engine(fleet.url, settings, clock=fleet.clock)
        engine.evaluate(conn)
        assert fleet.states(rollout.id)["b1"] == "healthy"
        assert fleet.states(rollout.id)["b3"] == "pending"  # b2 still in flight
        fleet.healthy(rollout.id, "b2")
        fleet.clock.advance(1)
        engine.evaluate(conn)
    assert fleet.states(rollout.id)["b3"] == "sent"
    assert len(_commands(fleet)) == 5  # nothing sent twice


def test_a_release_without_a_download_address_fails_its_boards(fleet: Fleet) -> None:
    rollout = fleet.create(target={"board_ids": ["b1"]}, waves=[{"count": 1}], max_failures=1)
    fleet.run(RolloutJob(RolloutSettings(base_url=None, every_s=0)))
    board = fleet.rollout(rollout.id).boards[0]
    assert (board.state, board.reason) == ("failed", "FLEET_RELEASES_BASE_URL is not set")
    assert _commands(fleet) == []


def test_a_scheduled_rollout_starts_at_its_time(fleet: Fleet) -> None:
    starts = fleet.clock() + timedelta(hours=2)
    rollout = fleet.create(waves=[{"count": 5}], starts_at=starts.isoformat())
    assert rollout.state == "scheduled"
    fleet.run()
    assert set(fleet.states(rollout.id).values()) == {"pending"}
    fleet.clock.set(starts.astimezone(UTC) + timedelta(seconds=1))
    fleet.run()
    assert fleet.rollout(rollout.id).state == "running"
    assert fleet.states(rollout.id)["b1"] == "sent"


def test_pause_and_resume_keep_a_scheduled_rollout_waiting_for_its_time(fleet: Fleet) -> None:
    rollout = fleet.create(
        waves=[{"count": 5}], starts_at=(fleet.clock() + timedelta(hours=1)).isoformat()
    )
    with fleet.conn.transaction():
        paused = service.act(fleet.conn, ADMIN, Actor("quan.tri"), rollout.id, "pause",
                             reason=None, now=fleet.clock())  # fmt: skip
        assert paused.state == "paused"
        resumed = service.act(fleet.conn, ADMIN, Actor("quan.tri"), rollout.id, "resume",
                              reason=None, now=fleet.clock())  # fmt: skip
    assert resumed.state == "scheduled"
    fleet.run()
    assert set(fleet.states(rollout.id).values()) == {"pending"}


def test_one_update_at_a_time_and_disabled_boards_skipped(fleet: Fleet) -> None:
    first = fleet.create(target={"board_ids": ["b1"]}, waves=[{"count": 1}])
    fleet.run()
    second = fleet.create(target={"board_ids": ["b1", "b2"]}, waves=[{"count": 2}], force=True)
    with fleet.conn.transaction():
        fleet.conn.execute("UPDATE boards SET enabled = false WHERE id = 'b2'")
    fleet.run()
    boards = {b.board_id: b for b in fleet.rollout(second.id).boards}
    assert (boards["b1"].state, boards["b1"].reason) == (
        "waiting", f"rollout {first.id} is updating this board",
    )  # fmt: skip
    assert (boards["b2"].state, boards["b2"].reason) == ("skipped", "board disabled")
    fleet.healthy(first.id, "b1")
    fleet.run()
    assert fleet.states(second.id)["b1"] == "sent"
