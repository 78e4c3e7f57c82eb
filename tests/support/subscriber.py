"""A real MQTT subscriber that records what boards publish."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.wait import wait_for


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes
    retain: bool

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.payload)  # type: ignore[no-any-return]


class Subscriber:
    def __init__(
        self,
        port: int,
        topic: str | list[str] = "fleet/v1/#",
        *,
        client_id: str = "test-sub",
        persistent: bool = False,
    ) -> None:
        self.messages: list[Received] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv311,
            clean_session=not persistent,
        )
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        topics = [topic] if isinstance(topic, str) else topic
        self.client.on_connect = lambda c, *_a: c.subscribe([(t, 1) for t in topics])
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        assert self._subscribed.wait(10), "subscription not confirmed"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), bool(msg.retain)))

    def on(self, suffix: str) -> list[Received]:
        with self._lock:
            return [m for m in self.messages if m.topic.endswith(suffix)]

    def wait_for(
        self,
        predicate: Callable[[list[Received]], bool],
        timeout: float = 20,
        what: str = "messages",
    ) -> list[Received]:
        def check() -> list[Received] | None:
            with self._lock:
                snapshot = list(self.messages)
            return snapshot if predicate(snapshot) else None

        result = wait_for(check, timeout=timeout, what=what)
        assert result is not None
        return result

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
