"""Commands in the database: the board's answer finishes its command (trigger
on ingest's command_results), expiry is derived on read, desired versions
increase."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from fleet_server.commands import storage
from tests.server.commands.conftest import answer, report
from tests.server.engine.conftest import Store
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]
BOARD = "lc-ma-lu-thang-01"
OTHER = "lc-mu-ca-01"


def _command(
    conn: Conn,
    request_id: str,
    now: datetime,
    *,
    board: str = BOARD,
    command: str = "ping",
    expires_in: float = 60,
) -> None:
    storage.insert_command(
        conn,
        request_id=request_id,
        board_id=board,
        command=command,
        args={},
        note=None,
        created_by="van.hanh",
        now=now,
        expires_at=now + timedelta(seconds=expires_in),
    )


def _get(conn: Conn, request_id: str, at: datetime) -> storage.CommandRecord:
    found = storage.get_command(conn, request_id, at)
    assert found is not None
    return found


def test_the_boards_answer_finishes_its_command(
    conn: Conn, board_store: Store, clock: Clock
) -> None:
    _command(conn, "cmd-1", clock.now)
    storage.mark_sent(conn, ["cmd-1"], clock.now)
    assert _get(conn, "cmd-1", clock.now).state == "sent"
    board_time = clock.now + timedelta(seconds=1)
    clock.advance(2)
    answer(board_store, BOARD, "cmd-1", "ping", output={"pong": True}, measured_at=board_time)
    done = _get(conn, "cmd-1", clock.now)
    assert done.state == "succeeded"
    assert done.result_status == "ok"
    assert done.output == {"pong": True}
    assert done.delivered_at == board_time  # the board's clock: when it handled it
    assert done.finished_at == clock.now  # the server's: when the answer arrived


def test_answers_that_do_not_belong_change_nothing(
    conn: Conn, board_store: Store, clock: Clock
) -> None:
    _command(conn, "cmd-2", clock.now)
    answer(board_store, BOARD, "cmd-unknown", "ping")  # unknown request id
    answer(board_store, OTHER, "cmd-2", "ping")  # another board's answer
    answer(board_store, BOARD, "cmd-2", "reboot")  # another command's name
    assert _get(conn, "cmd-2", clock.now).state == "queued"
    stored = conn.execute("SELECT count(*) FROM command_results").fetchone()
    assert stored == (3,)  # ingest still keeps every answer
    answer(board_store, BOARD, "cmd-2", "ping", "error", error="boom")
    answer(board_store, BOARD, "cmd-2", "ping", "ok")  # a second answer: the first one wins
    finished = _get(conn, "cmd-2", clock.now)
    assert (finished.state, finished.error) == ("failed", "boom")
    assert finished.sent_at is not None  # an answer proves it went out


def test_expiry_is_derived_on_read_and_the_boards_answer_wins(
    conn: Conn, board_store: Store, clock: Clock
) -> None:
    _command(conn, "cmd-3", clock.now, expires_in=30)
    _command(conn, "cmd-4", clock.now, expires_in=30, command="reboot")
    storage.mark_sent(conn, ["cmd-3", "cmd-4"], clock.now)
    later = clock.now + timedelta(seconds=31)
    assert _get(conn, "cmd-3", clock.now + timedelta(seconds=29)).state == "sent"
    assert _get(conn, "cmd-3", later).state == "expired"
    stored = conn.execute("SELECT state FROM board_commands WHERE request_id = 'cmd-3'").fetchone()
    assert stored == ("sent",)  # nothing had to mark it
    # A late answer (spooled on the board across an outage) still tells the
    # truth: the board checked the expiry itself before it ran the command.
    clock.advance(120)
    answer(board_store, BOARD, "cmd-3", "ping", output={"pong": True})
    assert _get(conn, "cmd-3", clock.now).state == "succeeded"
    # A board that got it too late says so.
    answer(board_store, BOARD, "cmd-4", "reboot", "expired", error="expired at …")
    assert _get(conn, "cmd-4", clock.now).state == "expired"
    assert _get(conn, "cmd-4", clock.now).result_status == "expired"


def test_retry_claims_only_idle_unexpired_queued_commands(conn: Conn, clock: Clock) -> None:
    now = clock.now
    _command(conn, "cmd-busy", now)  # its creator is publishing it right now
    _command(conn, "cmd-idle", now)
    storage.release(conn, "cmd-idle")  # nothing went out
    _command(conn, "cmd-old", now - timedelta(seconds=50), expires_in=40)  # expired
    _command(conn, "cmd-sent", now)
    storage.mark_sent(conn, ["cmd-sent"], now)
    claimed = storage.claim_queued(conn, now, timedelta(seconds=2))
    assert [c.request_id for c in claimed] == ["cmd-idle"]
    assert claimed[0].attempts == 2
    assert storage.claim_queued(conn, now, timedelta(seconds=2)) == []  # taken
    later = now + timedelta(seconds=3)  # no PUBACK in time: both may go again
    assert {c.request_id for c in storage.claim_queued(conn, later, timedelta(seconds=2))} == {
        "cmd-busy",
        "cmd-idle",
    }
    assert storage.has_backlog(conn, later)


def test_a_command_for_a_disconnected_board_waits_for_its_return(
    conn: Conn, board_store: Store, clock: Clock
) -> None:
    """The broker said "no matching subscribers": publish again once the
    board's birth has reached ingest, not every few seconds meanwhile."""
    _command(conn, "cmd-away", clock.now, expires_in=600)
    storage.mark_awaiting(conn, ["cmd-away"], clock.now)
    waiting = _get(conn, "cmd-away", clock.now)
    assert (waiting.state, waiting.awaiting_board) == ("queued", True)
    clock.advance(10)
    assert storage.claim_queued(conn, clock.now, timedelta(seconds=2)) == []
    board_store.state(BOARD, "online")  # the board is back
    clock.advance(1)
    [again] = storage.claim_queued(conn, clock.now, timedelta(seconds=2))
    assert again.request_id == "cmd-away"
    storage.mark_sent(conn, ["cmd-away"], clock.now)
    sent = _get(conn, "cmd-away", clock.now)
    assert (sent.state, sent.awaiting_board) == ("sent", False)
    # Should the return be missed, it is tried again after a while anyway.
    _command(conn, "cmd-away-2", clock.now, expires_in=600)
    storage.mark_awaiting(conn, ["cmd-away-2"], clock.now)
    later = clock.now + storage.AWAITING_RETRY
    assert [c.request_id for c in storage.claim_queued(conn, later, timedelta(seconds=2))] == [
        "cmd-away-2"
    ]


def test_desired_versions_increase_above_what_the_board_reported(
    conn: Conn, board_store: Store, clock: Clock
) -> None:
    first = storage.add_desired(conn, BOARD, {"log_level": "INFO"}, "van.hanh", clock.now)
    second = storage.add_desired(conn, BOARD, {"log_level": "DEBUG"}, "van.hanh", clock.now)
    assert (first.version, second.version) == (1, 2)
    assert storage.latest_desired(conn, BOARD) == second
    assert storage.unpublished_boards(conn) == [BOARD]
    storage.mark_published(conn, BOARD, 2, clock.now)
    assert storage.unpublished_boards(conn) == []
    # A board that once ran version 7 (an earlier server) ignores anything older.
    report(board_store, OTHER, 7)
    assert storage.add_desired(conn, OTHER, {"log_level": "INFO"}, "x", clock.now).version == 8
    report(board_store, OTHER, 8, applied=False)
    last = storage.last_report(conn, OTHER)
    assert last is not None
    assert (last.version, last.applied) == (8, False)
    applied = storage.last_report(conn, OTHER, applied=True)
    assert applied is not None
    assert applied.version == 7
