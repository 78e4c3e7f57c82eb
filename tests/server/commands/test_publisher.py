"""The command publisher on a real Mosquitto: MQTT 5 message expiry, boards
with persistent sessions that come back after the expiry, reconnecting when
the broker returns, the MQTT 3.1.1 fallback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

import fleet_protocol as fp
from fleet_server.commands import CommandPublisher, Delivery
from fleet_server.settings import Settings
from tests.server.commands.conftest import BOARD, Board
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port
from tests.support.wait import wait_for


def _request(request_id: str, command: str, expires_in: float, **args: Any) -> fp.CommandRequest:
    now = datetime.now(UTC)
    return fp.CommandRequest(
        schema_version=1,
        device_id=BOARD,
        request_id=request_id,
        command=command,
        issued_at=now,
        expires_at=now + timedelta(seconds=expires_in),
        args=args,
    )


@pytest.fixture
def publisher(mosquitto: Mosquitto) -> Iterator[CommandPublisher]:
    p = CommandPublisher(Settings(mqtt_url=mosquitto.url), client_id="test-commands")
    p.start()
    assert p.connected.wait(10)
    yield p
    p.close()


def _publish(publisher: CommandPublisher, request: fp.CommandRequest) -> Delivery:
    delivery = publisher.publish_command(request, datetime.now(UTC))
    assert delivery is not None
    assert delivery.wait(5), delivery.reason
    return delivery


def test_commands_carry_the_mqtt5_expiry_they_have_left(
    mosquitto: Mosquitto, publisher: CommandPublisher
) -> None:
    # Nobody subscribed: the broker says so (MQTT 5 PUBACK 0x10).
    assert _publish(publisher, _request("cmd-0", "ping", 60)).no_subscribers
    board = Board(mosquitto.port, MQTTProtocolVersion.MQTTv5, persistent=False)
    board.connect()
    try:
        request = _request("cmd-a", "restart_player", 300)
        assert not _publish(publisher, request).no_subscribers
        # Retried later: it carries what is left, not the whole 300 s again.
        _publish(publisher, request.model_copy(update={"request_id": "cmd-b"}))
        wait_for(lambda: len(board.received) == 2, 10, "both commands")
        (topic, got, expiry), _ = board.received
        assert topic == "fleet/v1/lc-ma-lu-thang-01/cmd/restart_player"
        assert got == request  # payload: expires_at for boards without MQTT 5
        assert expiry is not None
        assert 295 <= expiry <= 300
        # Nothing is published once the command has expired.
        assert publisher.publish_command(_request("cmd-c", "ping", -1), datetime.now(UTC)) is None
    finally:
        board.disconnect()


@pytest.mark.parametrize(
    "protocol", [MQTTProtocolVersion.MQTTv5, MQTTProtocolVersion.MQTTv311], ids=["v5", "v311"]
)
def test_a_board_back_after_the_expiry_never_gets_the_command(
    mosquitto: Mosquitto, publisher: CommandPublisher, protocol: MQTTProtocolVersion
) -> None:
    """The broker keeps the offline board's session and queue, and drops the
    queued reboot when its expiry passes, whatever protocol the board speaks."""
    board = Board(mosquitto.port, protocol, persistent=True)
    board.connect()
    board.disconnect()  # offline, session kept
    reboot = _request("cmd-reboot", "reboot", 1, confirm=True)
    _publish(publisher, reboot)
    assert reboot.expires_at is not None
    deadline = reboot.expires_at + timedelta(seconds=1.2)  # the broker counts whole seconds
    wait_for(lambda: datetime.now(UTC) > deadline, 5, "the reboot's expiry")
    _publish(publisher, _request("cmd-ping", "ping", 60))  # queued behind it
    board.connect()  # back: the queue is delivered in order
    try:
        wait_for(lambda: "cmd-ping" in board.request_ids(), 10, "the later ping")
        assert board.request_ids() == ["cmd-ping"]
    finally:
        board.disconnect()


def test_publisher_waits_for_the_broker_and_reconnects(tmp_path: Path) -> None:
    port = free_port()
    settings = Settings(mqtt_url=f"mqtt://127.0.0.1:{port}", mqtt_protocol="5")
    publisher = CommandPublisher(settings, client_id="test-commands-late")
    connects: list[int] = []
    publisher.on_connect(lambda: connects.append(1))
    try:
        # Broker down: nothing goes out, nothing is kept for later by paho.
        assert publisher.publish_command(_request("cmd-1", "ping", 60), datetime.now(UTC)) is None
        broker = Mosquitto(tmp_path / "late", port=port)
        broker.start()
        try:
            assert publisher.connected.wait(15), publisher.last_error
            _publish(publisher, _request("cmd-2", "ping", 60))
            broker.restart()
            wait_for(lambda: len(connects) == 2, 30, "a reconnection")
            assert publisher.connected.wait(5)
            _publish(publisher, _request("cmd-3", "ping", 60))
        finally:
            broker.stop()
        wait_for(lambda: not publisher.connected.is_set(), 10, "the disconnection")
        assert publisher.publish_command(_request("cmd-4", "ping", 60), datetime.now(UTC)) is None
    finally:
        publisher.close()


def test_mqtt_311_publisher_relies_on_the_payload_expiry(mosquitto: Mosquitto) -> None:
    publisher = CommandPublisher(
        Settings(mqtt_url=mosquitto.url, mqtt_protocol="3.1.1"), client_id="test-commands-311"
    )
    board = Board(mosquitto.port, MQTTProtocolVersion.MQTTv5, persistent=False)
    board.connect()
    try:
        publisher.start()
        assert publisher.connected.wait(10)
        request = _request("cmd-311", "ping", 60)
        _publish(publisher, request)
        wait_for(lambda: board.received, 10, "the command")
        [(_, got, expiry)] = board.received
        assert expiry is None
        assert got.expires_at == request.expires_at
    finally:
        board.disconnect()
        publisher.close()
