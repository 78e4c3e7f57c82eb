"""A plain paho publisher for tests: publish at QoS 1 and wait for every PUBACK."""

from __future__ import annotations

from collections.abc import Iterable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class Publisher:
    def __init__(self, port: int, client_id: str = "test-publisher") -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        self.client.max_inflight_messages_set(1000)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def publish_all(
        self,
        messages: Iterable[tuple[str, bytes]],
        qos: int = 1,
        retain: bool = False,
        timeout: float = 60,
    ) -> int:
        infos = [
            self.client.publish(topic, payload, qos=qos, retain=retain)
            for topic, payload in messages
        ]
        for info in infos:
            info.wait_for_publish(timeout)
            assert info.is_published(), "broker did not acknowledge a publish"
        return len(infos)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
