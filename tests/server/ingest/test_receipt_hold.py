"""Coalesced receipts for boards on the compact encoding (receipt_hold) through a
real broker into PostgreSQL, with the hold's clock moved by the test: a
batch's receipts wait for the interval, a burst or the board's birth or
offline sends them at once, a JSON board's come after each commit, and an
ingest that stops sends what it holds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

import fleet_protocol as fp
from fleet_protocol import compact
from fleet_server.ingest.receipt_hold import ReceiptHold
from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.subscriber import Subscriber
from tests.support.wait import wait_for

from .conftest import count, running
from .test_receipts import covered, receipts_of

Conn = psycopg.Connection[tuple[Any, ...]]
BOARD, OLD, LATE = "lc-rh-01", "lc-rh-json", "lc-rh-late"


def batch(board: str, seqs: range) -> tuple[str, bytes]:
    items = [m.heartbeat(board, seq=seq) for seq in seqs]
    return fp.batch_topic(board), compact.pack(board, items)


def seqs_of(sub: Subscriber, board: str) -> set[int]:
    return covered(receipts_of(sub)).get((board, 1), set())


def held_clock(service: IngestService, every_s: int, most: int) -> list[float]:
    """The service's hold on a clock the test moves (now[0])."""
    now = [1000.0]
    service.hold = ReceiptHold(every_s, most, clock=lambda: now[0])
    return now


def test_a_compact_boards_receipts_wait_for_the_interval_a_burst_or_its_state_sends_them(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    sub = Subscriber(mosquitto.port, ["fleet/v1/+/receipt", "fleet/v1/+/capabilities"])
    with running(make_settings()) as service:
        now = held_clock(service, 300, 10)
        pub = Publisher(mosquitto.port)
        pub.publish_all([m.state(BOARD, seq=1)])
        wait_for(lambda: seqs_of(sub, BOARD) == {1}, what="the birth receipted at once")
        wait_for(lambda: len(sub.on("/capabilities")) == 1, what="the capabilities")
        told = fp.decode(sub.on("/capabilities")[0].topic, sub.on("/capabilities")[0].payload)
        assert isinstance(told, fp.Capabilities)
        assert (told.receipt_every_s, told.receipt_hold_max) == (300, 10)

        pub.publish_all([batch(BOARD, range(2, 5))])
        wait_for(lambda: service.hold.held == 3, what="the batch's receipts held")
        now[0] += 299
        pub.publish_all([batch(BOARD, range(5, 7))])
        wait_for(lambda: service.hold.held == 5, what="the second batch's held too")
        assert seqs_of(sub, BOARD) == {1}
        now[0] += 1  # 300 s after the first held
        wait_for(lambda: seqs_of(sub, BOARD) == set(range(1, 7)), what="held receipts, due")

        pub.publish_all([batch(BOARD, range(7, 19))])  # 12 ≥ the hold's 10: at once
        wait_for(lambda: seqs_of(sub, BOARD) == set(range(1, 19)), what="a burst receipted")

        pub.publish_all([batch(BOARD, range(19, 21)), m.state(BOARD, seq=21, status="offline")])
        wait_for(lambda: seqs_of(sub, BOARD) == set(range(1, 22)), what="offline sends all")
        assert service.hold.held == 0

        # a JSON board's receipts, after each commit (no batch, never held)
        pub.publish_all([m.state(OLD, seq=1), m.heartbeat(OLD, seq=2), m.power(OLD, seq=3)])
        wait_for(lambda: seqs_of(sub, OLD) == {1, 2, 3}, what="a JSON board's receipts")
        # a board batching without having heard this ingest (it started after
        # the birth): receipted at once and told; held from then on
        pub.publish_all([batch(LATE, range(1, 3))])
        wait_for(lambda: seqs_of(sub, LATE) == {1, 2}, what="an untold board's receipts")
        wait_for(lambda: len(sub.on("/capabilities")) == 3, what="the late board told")
        pub.publish_all([batch(LATE, range(3, 4))])
        wait_for(lambda: service.hold.held == 1, what="the late board's next batch held")
        pub.close()
    sub.close()
    assert count(db, "telemetry_heartbeat") == 19 + 1 + 3


def test_an_ingest_that_stops_sends_the_receipts_it_holds_and_a_restart_drops_nothing(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    sub = Subscriber(mosquitto.port, "fleet/v1/+/receipt", client_id="held-receipts")
    pub = Publisher(mosquitto.port)
    settings = make_settings()  # the same session (client id) after the restart
    with running(settings) as service:
        held_clock(service, 300, 100)
        pub.publish_all([m.state(BOARD, seq=1)])
        wait_for(lambda: not service.hold.untold([(BOARD, 1, 1)]), what="the board told")
        pub.publish_all([batch(BOARD, range(2, 6))])
        wait_for(lambda: service.hold.held == 4, what="the batch's receipts held")
        assert seqs_of(sub, BOARD) == {1}
    wait_for(lambda: seqs_of(sub, BOARD) == set(range(1, 6)), what="held receipts sent on stop")
    with running(settings) as service:
        pub.publish_all([batch(BOARD, range(6, 8))])  # told by the first ingest only
        wait_for(lambda: seqs_of(sub, BOARD) == set(range(1, 8)), what="receipted at once")
        assert service.stats.duplicate_rows == 0
    pub.close()
    sub.close()
    assert count(db, "telemetry_heartbeat") == 6
