"""Stopping ingest is bounded (docs/reliability.md, "Stopping") and loses
nothing: a batch whose statement does not finish (here: a table locked by
another session) is cancelled after the grace period, neither stored nor
acknowledged, and the broker gives it to the next ingest."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.ingest.consumer import MqttConsumer
from fleet_server.ingest.stopping import STOP_TIMEOUT_S, join_writer
from fleet_server.settings import Settings
from tests.server.ingest.conftest import Conn, count, running
from tests.server.ingest.test_faults import _ingest_process
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

BLOCKED = (
    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fleet-ingest'"
    " AND wait_event_type = 'Lock' AND datname = current_database()"
)


def blocked(db: Conn) -> bool:
    return db.execute(BLOCKED).fetchone() == (1,)


def test_stop_cancels_a_batch_that_cannot_commit_and_acks_none_of_it(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db_url: str
) -> None:
    settings = make_settings()
    with (
        psycopg.connect(db_url) as blocker,
        psycopg.connect(db_url, autocommit=True) as db,
        closing(Publisher(mosquitto.port)) as pub,
    ):
        blocker.execute("LOCK TABLE telemetry_heartbeat IN ACCESS EXCLUSIVE MODE")
        with running(settings) as service:
            pub.publish_all([m.heartbeat(seq=1), m.heartbeat(seq=2)])
            wait_for(lambda: blocked(db), what="ingest blocked inside its transaction")
            started = time.monotonic()
            service.stop(grace=0.5, timeout=5)
            took = time.monotonic() - started
            assert service._writer_thread is not None
            assert not service._writer_thread.is_alive()
            assert took < 5, took
            assert (service.stats.acked, service.stats.batches) == (0, 0)
            assert service.fatal is None
        blocker.rollback()
        assert count(db, "telemetry_heartbeat") == 0
        with running(settings) as again:  # the same session: the broker still holds both
            wait_for(lambda: count(db, "telemetry_heartbeat") == 2, what="both redelivered")
            wait_for(lambda: again.stats.acked == 2, what="both acknowledged")


def test_stop_while_a_batch_waits_out_a_long_backoff_is_prompt(
    own_postgres: EmbeddedPostgres, make_settings: Callable[..., Settings], mosquitto: Mosquitto
) -> None:
    """The database away, the batch retried with delays of up to 30 s: stop
    does not wait for the next attempt, and nothing is acknowledged."""
    settings = make_settings(database_url=own_postgres.url("fleet"), ingest_retry_max_s=30)
    with closing(Publisher(mosquitto.port)) as pub:
        with running(settings) as service:
            own_postgres.stop()
            pub.publish_all([m.heartbeat(seq=1), m.heartbeat(seq=2)])
            # the next delay drawn from up to 12.8 s
            wait_for(lambda: service.stats.db_failures >= 7, what="the batch retried")
            started = time.monotonic()
            service.stop()
            assert time.monotonic() - started < 2
            assert service.stats.acked == 0
        own_postgres.start()
        with (
            running(settings) as again,
            psycopg.connect(own_postgres.url("fleet"), autocommit=True) as db,
        ):
            wait_for(lambda: count(db, "telemetry_heartbeat") == 2, what="both redelivered")
            wait_for(lambda: again.stats.acked == 2, what="both acknowledged")


def test_sigterm_while_a_batch_cannot_commit_exits_within_the_bound(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """The process as it runs: SIGTERM, the writer's statement cancelled, exit
    0 well within the 30 s the metrics processes test allows; the next
    ingest stores both messages."""
    log = tmp_path / "ingest.log"
    with (
        psycopg.connect(db_url) as blocker,
        psycopg.connect(db_url, autocommit=True) as db,
        closing(Publisher(mosquitto.port)) as pub,
    ):
        blocker.execute("LOCK TABLE telemetry_heartbeat IN ACCESS EXCLUSIVE MODE")
        proc = _ingest_process(db_url, mosquitto.url, "ingest-stop-test", log)
        try:
            wait_for(lambda: "ingest connected" in log.read_text(), what="ingest subscribed")
            pub.publish_all([m.heartbeat(seq=1), m.heartbeat(seq=2)])
            wait_for(lambda: blocked(db), what="ingest blocked inside its transaction")
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(STOP_TIMEOUT_S + 10)
            took = time.monotonic() - started
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        assert code == 0, log.read_text()
        assert took < STOP_TIMEOUT_S, (took, log.read_text())
        assert "cancels of its statement" in log.read_text()
        blocker.rollback()
        assert count(db, "telemetry_heartbeat") == 0
        proc = _ingest_process(db_url, mosquitto.url, "ingest-stop-test", log)
        try:
            wait_for(lambda: count(db, "telemetry_heartbeat") == 2, what="both redelivered")
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(STOP_TIMEOUT_S + 10) == 0, log.read_text()


class StuckClient:
    """paho's client as a broker that stopped reading leaves it, its
    socket's buffer full: ``loop_stop`` waits out the keepalive."""

    def __init__(self) -> None:
        self.released = threading.Event()
        self.disconnected = False

    def disconnect(self) -> None:
        self.disconnected = True

    def loop_stop(self) -> None:
        self.released.wait(30)


def test_the_consumer_stops_without_a_network_thread_that_does_not_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    consumer = MqttConsumer(Settings(mqtt_url="mqtt://127.0.0.1:1"), lambda _item: None)
    client = StuckClient()
    consumer._client = client  # type: ignore[assignment]
    started = time.monotonic()
    consumer.stop(timeout=0.3)
    try:
        assert time.monotonic() - started < 2
        assert client.disconnected
        assert consumer._client is None
        assert "did not end within" in caplog.text
    finally:
        client.released.set()


def test_join_writer_cancels_each_second_until_the_writer_ends() -> None:
    """A writer that ends at its third cancel: joined after the grace and
    about two seconds more, not after the timeout."""
    cancels: list[float] = []
    third = threading.Event()

    def cancel() -> None:
        cancels.append(time.monotonic())
        if len(cancels) == 3:
            third.set()

    writer = threading.Thread(target=third.wait, args=(30,), daemon=True)
    writer.start()
    started = time.monotonic()
    assert join_writer(writer, cancel, grace=0.2, timeout=10)
    assert len(cancels) == 3
    assert cancels[0] - started >= 0.2
    assert time.monotonic() - started < 5


def test_join_writer_gives_up_at_the_timeout() -> None:
    held = threading.Event()
    writer = threading.Thread(target=held.wait, args=(30,), daemon=True)
    writer.start()
    started = time.monotonic()
    try:
        assert not join_writer(writer, lambda: None, grace=0.1, timeout=1.5)
        assert 1.5 <= time.monotonic() - started < 3
    finally:
        held.set()
