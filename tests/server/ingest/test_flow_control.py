"""paho's network thread never waits for the database: during an outage
ingest stays connected (keepalives flow), memory stays bounded by the
broker's flow control, and everything is stored once the database is back.
And after a broker restart ingest is back within a fraction of a second.

Two waits here are durations by nature, not events: an outage must outlast
the broker's keepalive timeout (1.5 × keepalive) for the test to mean
anything, and a broker outage must outlast paho's default first retry.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg

from fleet_server.embedded.postgres import EmbeddedPostgres
from fleet_server.settings import Settings
from tests.support import messages as m
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

from .conftest import count, running

Conn = psycopg.Connection[tuple[Any, ...]]

KEEPALIVE_S = 3  # paho pings within keepalive + 1 s (its loop's tick); the broker waits 1.5×
#: small windows: the queue before this change held 2 × max(5, 2) = 10 messages
SMALL = {"ingest_keepalive_s": KEEPALIVE_S, "ingest_receive_maximum": 5, "ingest_batch_size": 2}


def outlast_the_keepalive() -> None:
    threading.Event().wait(2 * KEEPALIVE_S)


def test_mqtt_311_outage_longer_than_the_keepalive_keeps_the_connection(
    own_postgres: EmbeddedPostgres, mosquitto: Mosquitto, make_settings: Callable[..., Settings]
) -> None:
    """MQTT 3.1.1: Mosquitto's max_inflight_messages (1000, broker/dev.conf)
    is the window, far more than the old queue of 10: its network thread
    used to block, the broker dropped ingest and redelivered everything."""
    settings = make_settings(database_url=own_postgres.url("fleet"), mqtt_protocol="3.1.1", **SMALL)
    stream = [m.heartbeat(f"lc-fc-{i % 4}", seq=i) for i in range(1, 201)]
    with running(settings) as service:
        own_postgres.stop()
        pub = Publisher(mosquitto.port)
        pub.publish_all(stream)
        wait_for(lambda: service.stats.received == 200, what="the broker's whole window")
        wait_for(lambda: service.stats.db_failures > 0, what="a failed commit")
        outlast_the_keepalive()
        assert service.consumer.connects == 1
        assert service.consumer.connected.is_set()
        assert service.stats.acked == 0
        assert service.queued <= 200  # within the broker's window (1000)
        own_postgres.start()
        wait_for(lambda: service.stats.acked == 200, timeout=60, what="all acknowledged")
        assert service.consumer.connects == 1
        pub.close()
    with psycopg.connect(own_postgres.url("fleet")) as db:
        assert count(db, "telemetry_heartbeat") == 200


def test_mqtt_5_outage_bounds_qos1_by_receive_maximum_and_drops_extra_qos0(
    own_postgres: EmbeddedPostgres, mosquitto: Mosquitto, make_settings: Callable[..., Settings]
) -> None:
    """MQTT 5: the receive maximum (5) bounds unacknowledged QoS 1 messages;
    QoS 0 ones are not flow-controlled, so beyond 10 waiting they are
    dropped and counted rather than block the network thread."""
    settings = make_settings(database_url=own_postgres.url("fleet"), **SMALL)
    qos1 = [m.heartbeat(f"lc-q1-{i % 4}", seq=i) for i in range(1, 101)]
    qos0 = [m.heartbeat(f"lc-q0-{i % 4}", seq=i) for i in range(1, 301)]
    with running(settings) as service:
        own_postgres.stop()
        pub = Publisher(mosquitto.port)
        sender = threading.Thread(target=pub.publish_all, args=(qos1,), daemon=True)
        sender.start()  # blocks on the broker's queue for ingest: PUBACKs come back
        pub.publish_all(qos0, qos=0)
        wait_for(lambda: service.stats.dropped >= 250, what="QoS 0 messages dropped")
        outlast_the_keepalive()
        assert service.consumer.connects == 1
        assert service.consumer.connected.is_set()
        # QoS 1 in the queue: at most the receive maximum; QoS 0: at most 10
        assert service.queued <= 5 + 10
        assert service.stats.acked == 0
        started = time.monotonic()
        own_postgres.start()
        sender.join(60)
        wait_for(
            lambda: (
                service.stats.acked + service.stats.ack_skipped
                == service.stats.received - service.stats.dropped
            ),
            timeout=60,
            what="everything received committed",
        )
        assert time.monotonic() - started < 60
        assert service.consumer.connects == 1
        pub.close()
        with psycopg.connect(own_postgres.url("fleet")) as db:
            wait_for(
                lambda: count(db, "telemetry_heartbeat") == 100 + 300 - service.stats.dropped,
                what="every QoS 1 message and the QoS 0 ones not dropped",
            )
            assert service.metrics.registry.get_sample_value("fleet_ingest_dropped_total") == float(
                service.stats.dropped
            )


def test_ingest_is_back_within_a_fraction_of_a_second_after_a_broker_restart(
    make_settings: Callable[..., Settings], mosquitto: Mosquitto
) -> None:
    """paho's default is a first retry after 1 s, then 2, 4 …: after a broker
    restart ingest would come back after the boards. Retries from 0.05 s
    (capped at 0.25 s here) bring it back as soon as the broker listens."""
    settings = make_settings(ingest_reconnect_min_s=0.05, ingest_reconnect_max_s=0.25)
    with running(settings) as service:
        mosquitto.stop()
        wait_for(lambda: not service.consumer.connected.is_set(), what="the connection lost")
        threading.Event().wait(1.5)  # the broker stays away past paho's default first retry
        mosquitto.start()
        back = time.monotonic()
        assert service.consumer.subscribed.wait(10)
        assert time.monotonic() - back < 1.0
        assert service.consumer.connects == 2
