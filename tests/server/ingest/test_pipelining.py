"""Issue 20: a batch never takes the whole receive window (the broker keeps
sending while one commits), and the inbox between paho's network thread and
the writer hands messages over in order, stops after what came before the
stop, and refuses QoS 0 messages beyond its cap."""

from __future__ import annotations

import threading
from collections.abc import Callable

from fleet_server.ingest.consumer import Inbound
from fleet_server.ingest.inbox import Inbox
from fleet_server.settings import Settings
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

from .conftest import Conn, count, running


def inbound(mid: int, qos: int = 1) -> Inbound:
    return Inbound("fleet/v1/lc-pipe/telemetry/heartbeat", b"{}", mid, qos, 0.0, 1)


def test_a_batch_takes_at_most_half_the_receive_window(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto, db: Conn
) -> None:
    settings = make_settings(
        ingest_receive_maximum=10, ingest_batch_size=2_000, ingest_batch_delay_ms=200
    )
    with running(settings) as service:
        assert service.batch_limit() == 5
        Publisher(mosquitto.port).publish_all(
            [m.heartbeat("lc-pipe-01", seq=i) for i in range(1, 61)]
        )
        wait_for(lambda: service.stats.acked == 60, what="every message acknowledged")
        assert count(db, "telemetry_heartbeat") == 60
        assert service.stats.batches >= 12  # never more than 5 a batch


def test_the_inbox_hands_over_in_order_up_to_the_limit() -> None:
    inbox = Inbox(qos0_cap=10)
    for mid in range(1, 8):
        assert inbox.put(inbound(mid))
    batch, stop = inbox.take(limit=5, delay_s=0)
    assert [i.mid for i in batch] == [1, 2, 3, 4, 5]
    assert not stop
    batch, stop = inbox.take(limit=5, delay_s=0)
    assert [i.mid for i in batch] == [6, 7]
    assert len(inbox) == 0


def test_the_writer_is_woken_when_a_batch_is_complete() -> None:
    inbox = Inbox(qos0_cap=10)
    inbox.put(inbound(1))
    taken: list[list[int]] = []
    writer = threading.Thread(
        target=lambda: taken.append([i.mid for i in inbox.take(limit=3, delay_s=30)[0]])
    )
    writer.start()
    inbox.put(inbound(2))
    inbox.put(inbound(3))  # the batch is complete: no waiting out the 30 s delay
    writer.join(10)
    assert taken == [[1, 2, 3]]


def test_a_stop_comes_after_the_messages_before_it() -> None:
    inbox = Inbox(qos0_cap=10)
    inbox.put(inbound(1))
    inbox.put(inbound(2))
    inbox.stop()
    inbox.put(inbound(3))  # after the stop: stays unacknowledged, the broker redelivers it
    batch, stop = inbox.take(limit=10, delay_s=30)  # stopping: no waiting
    assert [i.mid for i in batch] == [1, 2]
    assert stop


def test_qos0_messages_beyond_the_cap_are_refused_until_taken() -> None:
    inbox = Inbox(qos0_cap=2)
    assert inbox.put(inbound(1, qos=0))
    assert inbox.put(inbound(2, qos=0))
    assert not inbox.put(inbound(3, qos=0))
    assert inbox.put(inbound(4, qos=1))  # QoS 1: bounded by the broker, never refused
    batch, _ = inbox.take(limit=10, delay_s=0)
    assert [i.mid for i in batch] == [1, 2, 4]
    assert inbox.put(inbound(5, qos=0))
