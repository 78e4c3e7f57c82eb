"""Delivery receipts under the production ACLs: the server may publish
``fleet/v1/+/receipt``; a board may read its own receipt topic and nothing
else, and may not write it (a forged receipt would make a board drop data).

A message that must NOT arrive is followed by a positive control on the same
path (see test_access.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

import fleet_protocol as fp
from fleet_server.broker.acls import SERVER_ROLE, board_acls, board_role_name, server_acls
from fleet_server.broker.dynsec import DynsecClient
from fleet_server.ingest.service import IngestService
from fleet_server.settings import Settings
from tests.support import messages as m
from tests.support.secure_broker import MqttProbe, SecureBroker, granted

PW_A = "board-a-password-0123456789"
PW_B = "board-b-password-0123456789"
V311 = MQTTProtocolVersion.MQTTv311


def _board(
    broker: SecureBroker,
    board_id: str,
    password: str,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
) -> MqttProbe:
    probe = broker.probe(board_id, board_id, password, protocol=protocol)
    result = probe.connect()
    assert result.ok, f"{board_id} could not connect: {result.reason}"
    return probe


@pytest.fixture
def ops(secure_broker: SecureBroker) -> Iterator[MqttProbe]:
    """The server's account, as ingest uses it to publish receipts."""
    probe = secure_broker.server_probe("fleet-ingest-receipts")
    assert probe.connect().ok
    yield probe
    probe.close()


def test_a_board_reads_its_own_receipts_only(
    secure_broker: SecureBroker, dynsec: DynsecClient, ops: MqttProbe
) -> None:
    dynsec.ensure_board("lc-ra-01", PW_A)
    dynsec.ensure_board("lc-rb-01", PW_B)
    a = _board(secure_broker, "lc-ra-01", PW_A, V311)  # the agent's protocol
    for flt in ("fleet/v1/lc-rb-01/receipt", "fleet/v1/+/receipt", "fleet/v1/lc-ra-01/#"):
        assert not granted(a.subscribe(flt)), flt
    assert granted(a.subscribe("fleet/v1/lc-ra-01/receipt"))
    assert ops.publish("fleet/v1/lc-rb-01/receipt", b"for B") is not None
    assert ops.publish("fleet/v1/lc-ra-01/receipt", b"for A") is not None  # control
    a.wait_message("fleet/v1/lc-ra-01/receipt", payload=b"for A")
    assert a.received() == [("fleet/v1/lc-ra-01/receipt", b"for A")]


def test_a_board_cannot_forge_receipts(
    secure_broker: SecureBroker, dynsec: DynsecClient, ops: MqttProbe
) -> None:
    dynsec.ensure_board("lc-ra-02", PW_A)
    dynsec.ensure_board("lc-rb-02", PW_B)
    a = _board(secure_broker, "lc-ra-02", PW_A)
    b = _board(secure_broker, "lc-rb-02", PW_B)
    assert granted(b.subscribe("fleet/v1/lc-rb-02/receipt"))
    assert granted(a.subscribe("fleet/v1/lc-ra-02/receipt"))
    for topic in ("fleet/v1/lc-rb-02/receipt", "fleet/v1/lc-ra-02/receipt"):
        assert str(a.publish(topic, b"forged")) == "Not authorized", topic
    assert str(ops.publish("fleet/v1/lc-rb-02/receipt", b"real")) == "Success"
    b.wait_message("fleet/v1/lc-rb-02/receipt", payload=b"real")
    assert b.received() == [("fleet/v1/lc-rb-02/receipt", b"real")]
    assert a.received() == []


def test_ensure_server_role_gives_an_older_role_the_receipts(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    """A broker set up before receipts: its server role lacks the right until
    ``ensure_server_role`` (the upgrade step in docs/broker.md)."""
    older = [a for a in server_acls() if not a.topic.endswith("/receipt")]
    assert dynsec.ensure_role(SERVER_ROLE, older)
    before = secure_broker.server_probe("fleet-ingest-old")
    assert before.connect().ok
    assert str(before.publish("fleet/v1/lc-x-01/receipt", b"r")) == "Not authorized"
    assert dynsec.ensure_server_role() is True
    before.wait_disconnected()  # a changed role drops its clients
    after = secure_broker.server_probe("fleet-ingest-new")
    assert after.connect().ok
    # allowed; nobody reads it here: MQTT 5's PUBACK says so instead of "Not authorized"
    assert str(after.publish("fleet/v1/lc-x-01/receipt", b"r")) == "No matching subscribers"
    assert dynsec.ensure_server_role() is False


def test_ingest_receipts_reach_the_board_through_the_production_broker(
    secure_broker: SecureBroker, dynsec: DynsecClient, db_url: str
) -> None:
    dynsec.ensure_board("lc-rc-01", PW_A)
    board = _board(secure_broker, "lc-rc-01", PW_A, V311)
    assert granted(board.subscribe(fp.receipt_topic("lc-rc-01")))
    user, password = quote(secure_broker.server_username), quote(secure_broker.server_password)
    settings = Settings(
        database_url=db_url,
        mqtt_url=f"mqtts://{user}:{password}@127.0.0.1:{secure_broker.tls_port}",
        mqtt_ca_file=str(secure_broker.ca_file),
        ingest_client_id="fleet-ingest-secure",
    )
    service = IngestService(settings)
    service.start()
    try:
        assert service.consumer.subscribed.wait(10)
        for seq in (1, 2, 3):
            board.publish(*m.heartbeat("lc-rc-01", seq=seq))
        topic, payload = board.wait_message(fp.receipt_topic("lc-rc-01"))
    finally:
        service.stop()
    receipt = fp.decode(topic, payload)
    assert isinstance(receipt, fp.Receipt)
    assert (receipt.device_id, receipt.boot) == ("lc-rc-01", 1)
    assert receipt.ranges[0][0] == 1


def test_sync_acls_gives_an_upgraded_fleet_the_receipt_rights(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    """Roles made by a version without receipts are brought up to date; a
    disabled board's account gains no role from it."""
    old = [a for a in server_acls() if "receipt" not in a.topic]
    dynsec.ensure_role(SERVER_ROLE, old)
    for board, password in (("lc-ra-01", PW_A), ("lc-rb-01", PW_B)):
        dynsec.ensure_board(board, password)
        role = board_role_name(board)
        dynsec.ensure_role(role, [a for a in board_acls(board) if "receipt" not in a.topic])
    dynsec.disable_board("lc-rb-01")
    a = _board(secure_broker, "lc-ra-01", PW_A, V311)
    assert not granted(a.subscribe("fleet/v1/lc-ra-01/receipt"))
    a.close()

    server, changed = dynsec.sync_acls(["lc-ra-01", "lc-rb-01"])
    assert server
    assert changed == ["lc-ra-01", "lc-rb-01"]
    assert dynsec.sync_acls(["lc-ra-01", "lc-rb-01"]) == (False, [])
    a = _board(secure_broker, "lc-ra-01", PW_A, V311)
    assert granted(a.subscribe("fleet/v1/lc-ra-01/receipt"))
    a.close()
    disabled = dynsec.get_client("lc-rb-01")
    assert disabled is not None
    assert disabled.get("roles", []) == []
