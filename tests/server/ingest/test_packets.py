"""A batch's PUBACKs and receipts written as one chunk (``packets``): the
bytes are MQTT's, and a real Mosquitto reads them as the packets they are."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from fleet_server.ingest import packets
from fleet_server.ingest.consumer import Inbound, MqttConsumer
from fleet_server.settings import Settings
from tests.support.mosquitto import Mosquitto
from tests.support.mqtt import Publisher
from tests.support.wait import wait_for

V5, V311 = MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311


@pytest.mark.parametrize(
    ("length", "encoded"),
    [  # MQTT 3.1.1 section 2.2.3's table, at each end of each size
        (0, b"\x00"),
        (127, b"\x7f"),
        (128, b"\x80\x01"),
        (16_383, b"\xff\x7f"),
        (16_384, b"\x80\x80\x01"),
        (2_097_151, b"\xff\xff\x7f"),
        (2_097_152, b"\x80\x80\x80\x01"),
        (268_435_455, b"\xff\xff\xff\x7f"),
    ],
)
def test_remaining_length_as_mqtt_writes_it(length: int, encoded: bytes) -> None:
    assert packets.remaining_length(length) == encoded


@pytest.mark.parametrize("length", [-1, 268_435_456])
def test_no_remaining_length_beyond_mqtts(length: int) -> None:
    with pytest.raises(ValueError, match="cannot hold"):
        packets.remaining_length(length)


def test_publish_and_puback_bytes() -> None:
    assert packets.publish("a/b", b"{}", V311) == b"\x30\x07\x00\x03a/b{}"
    assert packets.publish("a/b", b"{}", V5) == b"\x30\x08\x00\x03a/b\x00{}"  # no properties
    assert packets.pubacks([1, 258, 65535]) == b"\x40\x02\x00\x01\x40\x02\x01\x02\x40\x02\xff\xff"
    assert packets.pubacks([]) == b""


@pytest.mark.parametrize("topic", ["", "fleet/v1/+/receipt", "fleet/#", "a\0b", "x" * 65_536])
def test_no_publish_on_a_topic_mqtt_refuses(topic: str) -> None:
    with pytest.raises(ValueError, match="topic"):
        packets.publish(topic, b"{}", V5)


def test_a_paho_without_its_packet_queue_is_told_apart() -> None:
    assert packets.enqueue(object(), b"\x40\x02\x00\x01") is False  # type: ignore[arg-type]


class Reader:
    """Records what it receives: topic, payload and QoS."""

    def __init__(self, port: int, topic: str) -> None:
        self.got: list[tuple[str, bytes, int]] = []
        self._lock = threading.Lock()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="chunk-reader")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: subscribed.set()
        self.client.on_connect = lambda c, *_a: c.subscribe(topic, 1)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert subscribed.wait(10), "subscription not confirmed"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.got.append((msg.topic, bytes(msg.payload), msg.qos))

    def messages(self) -> list[tuple[str, bytes, int]]:
        with self._lock:
            return list(self.got)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def consumer(mosquitto: Mosquitto) -> Iterator[Callable[..., tuple[MqttConsumer, list[Inbound]]]]:
    started: list[MqttConsumer] = []

    def make(protocol: str, client_id: str = "chunk-writer") -> tuple[MqttConsumer, list[Inbound]]:
        settings = Settings(
            database_url="postgresql://unused@127.0.0.1:1/unused",
            mqtt_url=mosquitto.url,
            mqtt_protocol=protocol,
            ingest_client_id=client_id,
        )
        received: list[Inbound] = []
        made = MqttConsumer(settings, received.append)
        made.start()
        started.append(made)
        assert made.subscribed.wait(10), "not subscribed"
        return made, received

    yield make
    for made in started:
        made.stop()


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_receipts_in_one_chunk_reach_the_boards_as_published(
    consumer: Callable[..., tuple[MqttConsumer, list[Inbound]]],
    mosquitto: Mosquitto,
    protocol: str,
) -> None:
    reader = Reader(mosquitto.port, "fleet/v1/+/receipt")
    writer, _ = consumer(protocol)
    sizes = [0, 1, 120, 124, 125, 200, 16_000, 16_400, 60_000]  # across the length's byte counts
    sent = [
        (f"fleet/v1/lc-{n:03d}/receipt", bytes([65 + n]) * size) for n, size in enumerate(sizes)
    ]
    assert writer.publish_all(sent)
    assert writer.publish_all([])
    wait_for(lambda: len(reader.messages()) >= len(sent), what="every receipt")
    reader.close()
    assert reader.messages() == [(topic, payload, 0) for topic, payload in sent]


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
def test_a_batch_acknowledged_in_one_chunk_is_not_delivered_again(
    consumer: Callable[..., tuple[MqttConsumer, list[Inbound]]],
    mosquitto: Mosquitto,
    protocol: str,
) -> None:
    """Acknowledged, the broker forgets them: after a reconnection to the
    same session the next message is the one published meanwhile."""
    first, received = consumer(protocol, f"chunk-acks-{protocol}")
    pub = Publisher(mosquitto.port)
    pub.publish_all([("fleet/v1/lc-ack-01/telemetry/heartbeat", b"%d" % n) for n in range(300)])
    wait_for(lambda: len(received) == 300, what="300 received")
    assert first.ack_all(received) == 300
    first.stop()  # a clean DISCONNECT, after the chunk (paho writes in order)
    pub.publish_all([("fleet/v1/lc-ack-01/telemetry/heartbeat", b"after")])
    pub.close()
    _, again = consumer(protocol, f"chunk-acks-{protocol}")
    wait_for(lambda: again, what="the next message")
    assert [item.payload for item in again] == [b"after"]
