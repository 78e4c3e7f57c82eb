"""Which message is a board's latest (board_latest), through the real writer
on a real PostgreSQL: the board's session order (boot, seq) decides, never
its clock; ``observed_at`` reckons the measurement on the server's clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

import fleet_protocol as fp
from fleet_server.telemetry.storage import Accepted, BatchWriter

Conn = psycopg.Connection[tuple[Any, ...]]

BOARD = "lc-mlt-01"
T0 = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # the server's clock
HOUR = timedelta(hours=1)
END_OF_TIME = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def heartbeat(
    seq: int,
    *,
    measured_at: datetime,
    sent_at: datetime | None = None,
    boot: int = 1,
    uptime_s: int = 60,
) -> fp.HeartbeatMessage:
    return fp.HeartbeatMessage(
        schema_version=1,
        device_id=BOARD,
        boot=boot,
        seq=seq,
        measured_at=measured_at,
        sent_at=sent_at or measured_at,
        replay=sent_at is not None and sent_at > measured_at,
        data=fp.HeartbeatData(
            uptime_s=uptime_s,
            agent_version="0.1.0",
            cpu_percent=1,
            memory_percent=1,
            disk_percent=1,
        ),
    )


def unchecked(message: fp.HeartbeatMessage, **times: datetime) -> fp.HeartbeatMessage:
    """``message`` with times the protocol refuses (built past its validation)."""
    return fp.HeartbeatMessage.model_construct(**{**dict(message), **times})


def accepted(message: fp.HeartbeatMessage, received_at: datetime) -> Accepted:
    # model_dump_json, not fp.encode: a model_construct'ed message is one the
    # protocol would refuse, and the writer must cope with it all the same
    payload = message.model_dump_json().encode()
    return Accepted(message, received_at, fp.telemetry_topic(BOARD, "heartbeat"), payload)


class Writer:
    def __init__(self, conn: Conn) -> None:
        self.conn = conn
        self.batch = BatchWriter(conn)

    def write(self, *items: tuple[fp.HeartbeatMessage, datetime]) -> None:
        """One batch (one transaction), as ingest writes it."""
        self.batch.write([accepted(msg, at) for msg, at in items], [])

    def latest(self) -> tuple[Any, ...]:
        row = self.conn.execute(
            "SELECT boot, seq, measured_at, received_at, observed_at FROM board_latest"
            " WHERE device_id = %s AND kind = 'heartbeat'",
            (BOARD,),
        ).fetchone()
        assert row is not None
        return row


@pytest.fixture
def writer(db_url: str) -> Iterator[Writer]:
    with psycopg.connect(db_url) as conn:
        yield Writer(conn)


def test_clock_stepped_back_the_next_readings_replace_the_latest(writer: Writer) -> None:
    writer.write((heartbeat(10, measured_at=T0 + HOUR), T0))  # clock an hour ahead
    # NTP steps it back an hour: the next readings are dated before the last
    writer.write(
        (heartbeat(11, measured_at=T0 + timedelta(seconds=30)), T0 + timedelta(seconds=30))
    )
    assert writer.latest() == (1, 11, T0 + timedelta(seconds=30), *[T0 + timedelta(seconds=30)] * 2)
    writer.write(
        (heartbeat(12, measured_at=T0 + timedelta(seconds=60)), T0 + timedelta(seconds=60))
    )
    assert writer.latest()[1] == 12


def test_clock_stepped_back_inside_one_batch(writer: Writer) -> None:
    writer.write(
        (heartbeat(10, measured_at=T0 + HOUR), T0),
        (heartbeat(11, measured_at=T0), T0),
    )
    assert writer.latest()[:2] == (1, 11)


def test_a_far_future_reading_does_not_freeze_the_latest(writer: Writer) -> None:
    # the protocol refuses such a time; a message built past it must still
    # not pin the board's latest reading for good
    future = unchecked(heartbeat(10, measured_at=T0), measured_at=END_OF_TIME, sent_at=END_OF_TIME)
    writer.write((future, T0))
    assert writer.latest()[4] == T0  # observed when received: its clock has no say
    writer.write(
        (heartbeat(11, measured_at=T0 + timedelta(seconds=30)), T0 + timedelta(seconds=30))
    )
    assert writer.latest()[:2] == (1, 11)


def test_a_nonsense_sent_at_keeps_observed_at_in_the_calendar(writer: Writer) -> None:
    odd = unchecked(
        heartbeat(10, measured_at=T0),
        measured_at=datetime(1, 1, 1, tzinfo=UTC),
        sent_at=END_OF_TIME,
    )
    writer.write((odd, T0))
    boot, seq, _measured, received, observed = writer.latest()
    assert (boot, seq, received) == (1, 10, T0)
    assert observed <= T0 - timedelta(days=365)


def test_a_replayed_reading_keeps_its_age(writer: Writer) -> None:
    # measured at 03:00 by a clock an hour behind, held 10 minutes in the
    # spool, received at 04:10: observed at 04:00 on the server's clock
    writer.write(
        (
            heartbeat(5, measured_at=T0, sent_at=T0 + timedelta(minutes=10)),
            T0 + timedelta(minutes=70),
        )
    )
    assert writer.latest()[4] == T0 + HOUR
    # a live reading that arrived before is not replaced by an older seq
    writer.write(
        (heartbeat(9, measured_at=T0 + timedelta(minutes=11)), T0 + timedelta(minutes=71)),
        (
            heartbeat(6, measured_at=T0, sent_at=T0 + timedelta(minutes=12)),
            T0 + timedelta(minutes=72),
        ),
    )
    assert writer.latest()[:2] == (1, 9)


def test_a_replaced_controller_takes_over_after_the_margin(writer: Writer) -> None:
    writer.write((heartbeat(900, boot=50, measured_at=T0), T0))
    # a boot 1 within a minute of boot 50: not taken for a reset yet
    writer.write(
        (heartbeat(3, boot=1, measured_at=T0 + timedelta(seconds=30)), T0 + timedelta(seconds=30))
    )
    assert writer.latest()[:2] == (50, 900)
    writer.write(
        (heartbeat(4, boot=1, measured_at=T0 + timedelta(seconds=61)), T0 + timedelta(seconds=61))
    )
    assert writer.latest()[:2] == (1, 4)
    writer.write(
        (heartbeat(5, boot=1, measured_at=T0 + timedelta(seconds=91)), T0 + timedelta(seconds=91))
    )
    assert writer.latest()[:2] == (1, 5)


def test_a_spool_of_an_earlier_boot_never_passes_for_current(writer: Writer) -> None:
    writer.write((heartbeat(2, boot=51, measured_at=T0), T0))
    # boot 50's backlog, measured before boot 51 began, arrives minutes later
    backlog = heartbeat(
        700, boot=50, measured_at=T0 - timedelta(minutes=5), sent_at=T0 + timedelta(minutes=3)
    )
    writer.write((backlog, T0 + timedelta(minutes=3)))
    assert writer.latest()[:2] == (51, 2)
