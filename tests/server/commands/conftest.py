"""Command fixtures: the seeded database of the API tests, board messages
written through ingest's own writer, and helpers to make board answers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

import fleet_protocol as fp
from tests.server.api.conftest import (  # noqa: F401 - shared fixtures
    api_db,
    password_hash,
)
from tests.server.engine.conftest import Store
from tests.support.clock import Clock

Conn = psycopg.Connection[Any]
BOARD = "lc-ma-lu-thang-01"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def conn(api_db: str) -> Iterator[Conn]:  # noqa: F811 - the imported fixture
    with psycopg.connect(api_db, autocommit=True) as connection:
        yield connection


@pytest.fixture
def board_store(api_db: str, clock: Clock) -> Iterator[Store]:  # noqa: F811
    """Board messages stored exactly as ingest stores them (BatchWriter)."""
    s = Store(api_db, clock)
    yield s
    s.conn.close()


def answer(
    store: Store,
    device: str,
    request_id: str,
    command: str,
    status: str = "ok",
    *,
    output: dict[str, Any] | None = None,
    error: str | None = None,
    measured_at: datetime | None = None,
    boot: int = 1,
) -> None:
    """A cmd_result from ``device``, stored through ingest's writer."""
    now = store.clock()
    message = fp.CommandResultMessage(
        schema_version=1,
        device_id=device,
        boot=boot,
        seq=store._seq(device, boot),
        measured_at=measured_at or now,
        sent_at=now,
        data=fp.CommandResultData(
            request_id=request_id,
            command=command,
            status=status,  # type: ignore[arg-type]
            output=output,
            error=error,
        ),
    )
    store.send(message, fp.command_result_topic(device))


def report(store: Store, device: str, version: int, *, applied: bool = True) -> None:
    """A config/reported message from ``device``."""
    now = store.clock()
    message = fp.ConfigReportedMessage(
        schema_version=1,
        device_id=device,
        boot=1,
        seq=store._seq(device, 1),
        measured_at=now,
        sent_at=now,
        data=fp.ConfigReportedData(
            version=version,
            applied=applied,
            error=None if applied else "intervals.heartbeat: bad",
            config={"intervals": {"heartbeat": 15}},
        ),
    )
    store.send(message, fp.config_reported_topic(device))


class Board:
    """A board's MQTT session as a plain client: subscribed to its commands,
    optionally with a persistent session (MQTT 5 or 3.1.1)."""

    def __init__(
        self,
        port: int,
        protocol: MQTTProtocolVersion,
        *,
        device: str = BOARD,
        persistent: bool = True,
    ) -> None:
        self.port, self.protocol, self.device, self.persistent = port, protocol, device, persistent
        self.received: list[tuple[str, fp.CommandRequest, int | None]] = []
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.client: mqtt.Client | None = None

    def connect(self) -> None:
        v5 = self.protocol == MQTTProtocolVersion.MQTTv5
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.device}-{self.protocol.name}",
            protocol=self.protocol,
            clean_session=None if v5 else not self.persistent,
        )
        self.ready.clear()
        client.reconnect_delay_set(1, 1)
        client.on_message = self._on_message
        client.on_subscribe = lambda *_a: self.ready.set()
        client.on_connect = lambda c, *_a: c.subscribe(f"fleet/v1/{self.device}/cmd/+", qos=1)
        if v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = 3600 if self.persistent else 0
            client.connect(
                "127.0.0.1", self.port, clean_start=not self.persistent, properties=props
            )
        else:
            client.connect("127.0.0.1", self.port)
        client.loop_start()
        self.client = client
        assert self.ready.wait(10), "board did not subscribe"

    def disconnect(self) -> None:
        assert self.client is not None
        self.client.disconnect()
        self.client.loop_stop()
        self.client = None

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        request = fp.decode(msg.topic, bytes(msg.payload))
        assert isinstance(request, fp.CommandRequest)
        expiry = getattr(msg.properties, "MessageExpiryInterval", None)
        with self._lock:
            self.received.append((msg.topic, request, expiry))

    def request_ids(self) -> list[str]:
        with self._lock:
            return [r.request_id for _, r, _ in self.received]
