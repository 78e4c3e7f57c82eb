"""Who may connect, publish and subscribe: the production configuration on a
real Mosquitto (TLS, dynamic-security plugin, default deny).

A message that must NOT arrive is always followed by a positive control sent
after it on the same path: when the control has arrived, the forbidden
message would have arrived before it.
"""

from __future__ import annotations

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

import fleet_protocol as fp
from fleet_server.broker.acls import Acl
from fleet_server.broker.dynsec import DynsecClient
from tests.support.secure_broker import MqttProbe, SecureBroker, granted

PW_A = "board-a-password-0123456789"
PW_B = "board-b-password-0123456789"
V311 = MQTTProtocolVersion.MQTTv311


def _board(
    broker: SecureBroker,
    board_id: str,
    password: str,
    *,
    client_id: str | None = None,
    protocol: MQTTProtocolVersion = MQTTProtocolVersion.MQTTv5,
) -> MqttProbe:
    probe = broker.probe(client_id or board_id, board_id, password, protocol=protocol)
    result = probe.connect()
    assert result.ok, f"{board_id} could not connect: {result.reason}"
    return probe


def test_anonymous_connection_is_refused(secure_broker: SecureBroker) -> None:
    for protocol in (MQTTProtocolVersion.MQTTv5, V311):
        probe = secure_broker.probe("anon", protocol=protocol)
        result = probe.connect()
        assert not result.ok
        assert result.reason == "Not authorized"


def test_plain_tcp_to_the_tls_listeners_fails(secure_broker: SecureBroker) -> None:
    """A CONNECT in clear text is not a TLS ClientHello: the broker drops the
    socket without a CONNACK, even with valid credentials."""
    for mtls in (False, True):
        probe = secure_broker.probe(
            "plain",
            secure_broker.server_username,
            secure_broker.server_password,
            tls=False,
            mtls=mtls,
        )
        result = probe.connect()
        assert not result.ok
        assert probe.connack is None, "a CONNACK came back over plain TCP"


def test_wrong_password_and_unknown_user_are_refused(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    dynsec.ensure_board("lc-pwd-01", PW_A)
    for username, password in (
        ("lc-pwd-01", "not-the-password"),
        ("lc-pwd-01", ""),
        ("lc-nobody-01", PW_A),
        (secure_broker.admin_username, "guess-guess-guess"),
    ):
        result = secure_broker.probe("lc-pwd-01", username, password).connect()
        assert not result.ok, (username, password)
        assert result.reason == "Not authorized"
    assert _board(secure_broker, "lc-pwd-01", PW_A).connected.is_set()


def test_provisioned_board_connects_over_tls_and_ensure_board_is_idempotent(
    secure_broker: SecureBroker, dynsec: DynsecClient, server: MqttProbe
) -> None:
    dynsec.ensure_board("lc-mlt-01", PW_A)
    board = _board(secure_broker, "lc-mlt-01", PW_A, protocol=V311)  # the agent's protocol
    # Same call again (and without a password): nothing changes, so the
    # broker has no reason to disconnect the board.
    dynsec.ensure_board("lc-mlt-01", None)
    dynsec.ensure_board("lc-mlt-01", None)
    board.publish("fleet/v1/lc-mlt-01/state", b"online", retain=True)
    board.publish("fleet/v1/lc-mlt-01/telemetry/heartbeat", b"hb")
    board.publish("fleet/v1/lc-mlt-01/event/door_opened", b"ev")
    server.wait_message("fleet/v1/lc-mlt-01/event/door_opened")
    assert not board.disconnected.is_set()
    assert [t for t, _ in server.received()] == [
        "fleet/v1/lc-mlt-01/state",
        "fleet/v1/lc-mlt-01/telemetry/heartbeat",
        "fleet/v1/lc-mlt-01/event/door_opened",
    ]
    client = dynsec.get_client("lc-mlt-01")
    assert client is not None
    assert client["clientid"] == "lc-mlt-01"
    assert [r["rolename"] for r in client["roles"]] == ["board:lc-mlt-01"]


@pytest.mark.parametrize("protocol", [V311, MQTTProtocolVersion.MQTTv5], ids=["mqtt311", "mqtt5"])
def test_board_cannot_publish_to_another_boards_topics(
    secure_broker: SecureBroker,
    dynsec: DynsecClient,
    server: MqttProbe,
    protocol: MQTTProtocolVersion,
) -> None:
    dynsec.ensure_board("lc-a-01", PW_A)
    dynsec.ensure_board("lc-b-01", PW_B)
    a = _board(secure_broker, "lc-a-01", PW_A, protocol=protocol)
    assert granted(server.subscribe("fleet/v1/+/cmd_result"))
    forged = [
        "fleet/v1/lc-b-01/state",
        "fleet/v1/lc-b-01/telemetry/power",
        "fleet/v1/lc-b-01/event/mains_lost",
        "fleet/v1/lc-b-01/cmd_result",
        "fleet/v1/lc-b-01/config/reported",
        "fleet/v1/lc-b-01/snapshot",
    ]
    for topic in forged:
        reason = a.publish(topic, b"forged by A")
        if protocol == MQTTProtocolVersion.MQTTv5:
            assert reason is not None
            assert str(reason) == "Not authorized", topic
        # MQTT 3.1.1 has no way to say no: the broker acknowledges and drops it.
    # Nor may a board write the server → board direction, not even its own.
    for topic in ("fleet/v1/lc-b-01/cmd/reboot", "fleet/v1/lc-a-01/cmd/reboot"):
        a.publish(topic, b"forged command")
    a.publish("fleet/v1/lc-a-01/cmd_result", b"control")  # positive control, same path
    server.wait_message("fleet/v1/lc-a-01/cmd_result", payload=b"control")
    assert [t for t, _ in server.received() if "lc-b-01" in t] == []
    assert a.connected.is_set()


@pytest.mark.parametrize("protocol", [V311, MQTTProtocolVersion.MQTTv5], ids=["mqtt311", "mqtt5"])
def test_board_sends_the_largest_snapshot_on_its_own_topic_only(
    secure_broker: SecureBroker, dynsec: DynsecClient, protocol: MQTTProtocolVersion
) -> None:
    """Screen and camera proof: a board's role lets it publish a picture as
    large as the protocol allows (MAX_SNAPSHOT_PAYLOAD_BYTES, under the
    broker's max_packet_size) on its own snapshot topic, never on another
    board's; the server's role reads it, also through a shared subscription."""
    dynsec.ensure_board("lc-a-04", PW_A)
    dynsec.ensure_board("lc-b-04", PW_B)
    ingest = secure_broker.server_probe("fleet-ingest-snapshot")
    assert ingest.connect().ok
    assert granted(ingest.subscribe("$share/ingest/fleet/v1/+/snapshot"))
    a = _board(secure_broker, "lc-a-04", PW_A, protocol=protocol)
    reason = a.publish("fleet/v1/lc-b-04/snapshot", b"forged picture")
    if protocol == MQTTProtocolVersion.MQTTv5:
        assert str(reason) == "Not authorized"
    largest = b"x" * fp.MAX_SNAPSHOT_PAYLOAD_BYTES
    answer = a.publish("fleet/v1/lc-a-04/snapshot", largest)
    assert answer is None or not answer.is_failure, answer
    ingest.wait_message("fleet/v1/lc-a-04/snapshot", payload=largest)  # positive control
    assert [t for t, _ in ingest.received()] == ["fleet/v1/lc-a-04/snapshot"]
    assert a.connected.is_set()


def test_board_cannot_subscribe_to_another_boards_commands(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    dynsec.ensure_board("lc-a-02", PW_A)
    dynsec.ensure_board("lc-b-02", PW_B)
    a = _board(secure_broker, "lc-a-02", PW_A, protocol=V311)
    b = _board(secure_broker, "lc-b-02", PW_B, protocol=V311)
    for flt in (
        "fleet/v1/lc-b-02/cmd/+",
        "fleet/v1/lc-b-02/cmd/reboot",
        "fleet/v1/lc-b-02/config/desired",
        "fleet/v1/+/cmd/+",
        "fleet/v1/#",
        "#",
        "$share/g/fleet/v1/lc-b-02/cmd/+",
        "$CONTROL/dynamic-security/v1/response",
    ):
        codes = a.subscribe(flt)
        assert not granted(codes), f"{flt} granted: {codes}"
    assert granted(a.subscribe("fleet/v1/lc-a-02/cmd/+"))
    assert granted(a.subscribe("fleet/v1/lc-a-02/config/desired"))
    assert granted(b.subscribe("fleet/v1/lc-b-02/cmd/+"))
    ops = secure_broker.server_probe("fleet-api-test")
    assert ops.connect().ok
    assert ops.publish("fleet/v1/lc-b-02/cmd/reboot", b"for B only") is not None
    assert ops.publish("fleet/v1/lc-a-02/cmd/ping", b"for A") is not None  # control
    a.wait_message("fleet/v1/lc-a-02/cmd/ping")
    b.wait_message("fleet/v1/lc-b-02/cmd/reboot")
    assert a.received() == [("fleet/v1/lc-a-02/cmd/ping", b"for A")]


def test_percent_u_and_c_are_not_expanded_by_dynsec(
    secure_broker: SecureBroker, dynsec: DynsecClient, server: MqttProbe
) -> None:
    """Why every board has its own role: in Mosquitto 2.0.x the plugin compares
    ACL topics literally, so one shared role with %u/%c would grant nothing
    (and would grant the literal topic "fleet/v1/%u/..." to everybody)."""
    dynsec.ensure_role(
        "pattern-test",
        [
            Acl("publishClientSend", "fleet/v1/%u/state"),
            Acl("publishClientSend", "fleet/v1/%c/event/+"),
            Acl("subscribePattern", "fleet/v1/%u/cmd/+"),
        ],
    )
    dynsec.ensure_account("lc-pct-01", PW_A, ["pattern-test"])
    board = _board(secure_broker, "lc-pct-01", PW_A)
    assert str(board.publish("fleet/v1/lc-pct-01/state", b"expanded?")) == "Not authorized"
    assert str(board.publish("fleet/v1/lc-pct-01/event/x", b"expanded?")) == "Not authorized"
    assert not granted(board.subscribe("fleet/v1/lc-pct-01/cmd/+"))
    # The literal topic matches instead: the positive control.
    board.publish("fleet/v1/%u/state", b"literal")
    server.wait_message("fleet/v1/%u/state", payload=b"literal")
    assert server.received("fleet/v1/lc-pct-01/state") == []
    assert server.received("fleet/v1/lc-pct-01/event/x") == []


def test_shared_subscriptions_are_checked_on_the_whole_share_filter(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    """2.0.11 checks the subscribe ACL against "$share/<group>/<filter>" as
    one string, and delivery (publishClientReceive) against the real topic:
    the server role grants both "$share/+/fleet/v1/+/state" and the plain filter."""
    dynsec.ensure_board("lc-shr-01", PW_A)
    ingest = secure_broker.server_probe("fleet-ingest-1")
    assert ingest.connect().ok
    assert granted(ingest.subscribe("$share/ingest/fleet/v1/+/state"))
    assert granted(ingest.subscribe("$share/ingest/fleet/v1/+/telemetry/+"))
    # The server may not read commands (nothing in its role says so) ...
    assert not granted(ingest.subscribe("$share/ingest/fleet/v1/+/cmd/+"))
    assert not granted(ingest.subscribe("fleet/v1/+/cmd/+"))
    # ... and a board may not use $share to reach its own topics either: the
    # ACL "fleet/v1/<id>/cmd/+" does not match "$share/g/fleet/v1/<id>/cmd/+".
    board = _board(secure_broker, "lc-shr-01", PW_A)
    assert not granted(board.subscribe("$share/g/fleet/v1/lc-shr-01/cmd/+"))
    board.publish("fleet/v1/lc-shr-01/state", b"online")
    ingest.wait_message("fleet/v1/lc-shr-01/state")


def test_board_cannot_take_over_another_boards_session(
    secure_broker: SecureBroker, dynsec: DynsecClient, server: MqttProbe
) -> None:
    """Board accounts are pinned to their client id: A cannot connect as
    client "lc-b-03" (which would disconnect B)."""
    dynsec.ensure_board("lc-a-03", PW_A)
    dynsec.ensure_board("lc-b-03", PW_B)
    b = _board(secure_broker, "lc-b-03", PW_B)
    result = secure_broker.probe("lc-b-03", "lc-a-03", PW_A).connect()
    assert not result.ok
    assert result.reason == "Not authorized"
    b.publish("fleet/v1/lc-b-03/state", b"still here")
    server.wait_message("fleet/v1/lc-b-03/state")
    assert not b.disconnected.is_set()


def test_server_account_cannot_administer_and_admin_cannot_publish(
    secure_broker: SecureBroker, dynsec: DynsecClient
) -> None:
    ops = secure_broker.server_probe()
    assert ops.connect().ok
    assert not granted(ops.subscribe("$CONTROL/dynamic-security/v1/response"))
    assert str(ops.publish("$CONTROL/dynamic-security/v1", b'{"commands": []}')) == (
        "Not authorized"
    )
    admin = secure_broker.probe(
        "admin-probe", secure_broker.admin_username, secure_broker.admin_password
    )
    assert admin.connect().ok
    assert str(admin.publish("fleet/v1/lc-x-01/cmd/reboot", b"x")) == "Not authorized"
    assert not granted(admin.subscribe("fleet/v1/#"))
