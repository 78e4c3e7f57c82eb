"""Server-side checks: messages of unknown and disabled boards go to the dead
letters; a board created a moment ago keeps its first messages; known boards'
messages cost no database lookup."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.server.ingest.conftest import count, running
from tests.support import messages as m
from tests.support import seed
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

Conn = psycopg.Connection[tuple[Any, ...]]
KNOWN = "lc-ma-lu-thang-01"
OTHER = "lc-u-ma-tu-khoong-01"


@pytest.fixture
def seeded(db: Conn) -> Conn:
    with db.transaction():
        seed.demo_fleet(db, 3)
    return db


@pytest.fixture
def strict(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(ingest_require_known_board=True)


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[Publisher]:
    pub = Publisher(mosquitto.port)
    yield pub
    pub.close()


SENTINEL = ("fleet/v1/lc-sentinel/telemetry/heartbeat", b"not json")


@contextmanager
def ingesting(settings: Settings, publisher: Publisher) -> Iterator[IngestService]:
    """A running ingest whose subscription is in place: a message published
    before the SUBACK would be lost, so publish a sentinel (a bad_json dead
    letter, left out below) until one arrives."""
    with running(settings) as ingest:

        def arrived() -> bool:
            publisher.publish_all([SENTINEL])
            return ingest.stats.received > 0

        wait_for(arrived, timeout=15, what="ingest's subscription")
        yield ingest


def dead_letters(conn: Conn) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1]))
        for r in conn.execute(
            "SELECT device_id, reason FROM dead_letters WHERE device_id <> 'lc-sentinel'"
            " ORDER BY id"
        )
    ]


def stored(conn: Conn, device: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM telemetry_heartbeat WHERE device_id = %s", (device,)
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_unknown_and_disabled_boards_are_dead_lettered(
    seeded: Conn, strict: Settings, publisher: Publisher
) -> None:
    seeded.execute("UPDATE boards SET enabled = false WHERE id = %s", (OTHER,))
    with ingesting(strict, publisher) as ingest:
        publisher.publish_all(
            [m.heartbeat(KNOWN, seq=1), m.heartbeat("lc-stranger-01", seq=1), m.heartbeat(OTHER)]
        )
        wait_for(lambda: len(dead_letters(seeded)) == 2, what="two dead letters")
        wait_for(lambda: stored(seeded, KNOWN) == 1, what="the known board's message")
    assert count(seeded, "telemetry_heartbeat") == 1
    assert sorted(dead_letters(seeded)) == [
        ("lc-stranger-01", "unknown_board"),
        (OTHER, "board_disabled"),
    ]
    assert (ingest.stats.rejected["unknown_board"], ingest.stats.rejected["board_disabled"]) == (
        1,
        1,
    )


def test_without_the_setting_unknown_boards_are_accepted_in_development(
    seeded: Conn, make_settings: Callable[..., Settings], publisher: Publisher
) -> None:
    settings = make_settings()
    assert not settings.require_known_board
    assert Settings(environment="production").require_known_board
    seeded.execute("UPDATE boards SET enabled = false WHERE id = %s", (OTHER,))
    with ingesting(settings, publisher):
        publisher.publish_all([m.heartbeat("lc-stranger-01"), m.heartbeat(OTHER)])
        wait_for(lambda: stored(seeded, "lc-stranger-01") == 1, what="the stranger's message")
        wait_for(lambda: dead_letters(seeded), what="the disabled board's dead letter")
    assert dead_letters(seeded) == [(OTHER, "board_disabled")]  # disabled still counts


def test_a_board_created_a_moment_ago_keeps_its_first_message(
    seeded: Conn, strict: Settings, publisher: Publisher
) -> None:
    """The board's row is committed, then it publishes at once: stored,
    whether the notification or the lookup before rejecting gets there first."""
    with ingesting(strict, publisher):
        for i in range(3):
            board = f"lc-new-{i:02d}"
            seed.board(seeded, board, "ma-lu-thang", name="Bảng mới")
            publisher.publish_all([m.heartbeat(board, seq=1)])
        wait_for(lambda: count(seeded, "telemetry_heartbeat") == 3, what="three stored")
    assert dead_letters(seeded) == []
    assert count(seeded, "telemetry_heartbeat") == 3


def test_the_lookup_before_rejecting_needs_no_notification(
    seeded: Conn, db_owner: Conn, strict: Settings, publisher: Publisher
) -> None:
    """With the trigger off, a board created after ingest last looked is
    still found: its message arrived after what the cache knows of it."""
    with ingesting(strict, publisher):
        publisher.publish_all([m.heartbeat("lc-late-01", seq=1)])
        wait_for(lambda: dead_letters(seeded), what="the stranger's dead letter")
        assert dead_letters(seeded) == [("lc-late-01", "unknown_board")]
        with db_owner.transaction():  # switching a trigger off takes the owner
            # the fleet-health triggers are deferred to commit; an ALTER TABLE
            # refuses a table with trigger events still pending
            db_owner.execute("SET CONSTRAINTS ALL IMMEDIATE")
            db_owner.execute("ALTER TABLE boards DISABLE TRIGGER boards_notify_change")
            seed.board(db_owner, "lc-late-01", "ma-lu-thang", name="Bảng")
            db_owner.execute("ALTER TABLE boards ENABLE TRIGGER boards_notify_change")
        publisher.publish_all([m.heartbeat("lc-late-01", seq=2)])
        wait_for(lambda: stored(seeded, "lc-late-01") == 1, what="the second message stored")


def test_a_board_disabled_while_ingest_runs_is_refused(
    seeded: Conn, strict: Settings, publisher: Publisher
) -> None:
    seq = itertools.count(1)
    with ingesting(strict, publisher):
        publisher.publish_all([m.heartbeat(KNOWN, seq=next(seq))])
        wait_for(lambda: stored(seeded, KNOWN) == 1, what="the first message stored")
        seeded.execute("UPDATE boards SET enabled = false WHERE id = %s", (KNOWN,))

        def refused() -> bool:
            # The notification travels beside the board's messages: publish
            # until ingest has it (at once, in practice).
            publisher.publish_all([m.heartbeat(KNOWN, seq=next(seq))])
            return (KNOWN, "board_disabled") in dead_letters(seeded)

        wait_for(refused, timeout=10, what="a board_disabled dead letter")
        kept = stored(seeded, KNOWN)
        sent = next(seq)
        publisher.publish_all([m.heartbeat(KNOWN, seq=sent)])
        wait_for(
            lambda: stored(seeded, KNOWN) + len(dead_letters(seeded)) == sent,
            what="every message stored or dead-lettered",
        )
        assert stored(seeded, KNOWN) == kept  # refused from then on
        seeded.execute("UPDATE boards SET enabled = true WHERE id = %s", (KNOWN,))
        publisher.publish_all([m.heartbeat(KNOWN, seq=next(seq))])
        wait_for(lambda: stored(seeded, KNOWN) == kept + 1, what="enabled again: stored")


def test_known_boards_cost_no_lookup(seeded: Conn, strict: Settings, publisher: Publisher) -> None:
    with ingesting(strict, publisher) as ingest:
        publisher.publish_all([m.heartbeat(KNOWN, seq=s) for s in range(1, 201)])
        wait_for(lambda: stored(seeded, KNOWN) == 200, what="200 stored")
        assert ingest.boards.lookups == 0
        assert ingest.boards.full_reads == 1


def test_duplicates_are_dropped_and_gaps_tolerated(
    seeded: Conn, strict: Settings, publisher: Publisher
) -> None:
    messages = [m.heartbeat(KNOWN, seq=s) for s in (1, 5, 5, 3, 9)]
    with ingesting(strict, publisher) as ingest:
        publisher.publish_all(messages)
        wait_for(lambda: ingest.stats.duplicate_rows == 1, what="the duplicate dropped")
        wait_for(lambda: stored(seeded, KNOWN) == 4, what="four rows")
    assert dead_letters(seeded) == []
