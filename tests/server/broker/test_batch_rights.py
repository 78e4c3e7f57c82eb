"""The compact encoding under the production ACLs: a board may publish its
own batch topic and read its own ``capabilities``; it may not write
``capabilities`` (a forged word would make a board send batches a server
cannot read), nor read another board's.

A message that must NOT arrive is followed by a positive control on the same
path (see test_access.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from paho.mqtt.enums import MQTTProtocolVersion

from fleet_server.broker.dynsec import DynsecClient
from tests.support.secure_broker import MqttProbe, SecureBroker, granted

PW_A = "board-a-password-0123456789"
PW_B = "board-b-password-0123456789"


@pytest.fixture
def ops(secure_broker: SecureBroker) -> Iterator[MqttProbe]:
    """The server's account, as ingest uses it."""
    probe = secure_broker.server_probe("fleet-ingest-capabilities")
    assert probe.connect().ok
    yield probe
    probe.close()


def test_batches_and_capabilities_each_on_the_boards_own_topics(
    secure_broker: SecureBroker, dynsec: DynsecClient, ops: MqttProbe
) -> None:
    dynsec.ensure_board("lc-ca-01", PW_A)
    dynsec.ensure_board("lc-cb-01", PW_B)
    a = secure_broker.probe("lc-ca-01", "lc-ca-01", PW_A, protocol=MQTTProtocolVersion.MQTTv5)
    b = secure_broker.probe("lc-cb-01", "lc-cb-01", PW_B, protocol=MQTTProtocolVersion.MQTTv5)
    assert a.connect().ok
    assert b.connect().ok
    assert not granted(a.subscribe("fleet/v1/lc-cb-01/capabilities"))
    assert granted(a.subscribe("fleet/v1/lc-ca-01/capabilities"))
    assert granted(b.subscribe("fleet/v1/lc-cb-01/capabilities"))
    assert granted(ops.subscribe("fleet/v1/+/batch"))
    # a forged word, from a board, for itself or another: refused
    for topic in ("fleet/v1/lc-cb-01/capabilities", "fleet/v1/lc-ca-01/capabilities"):
        assert str(a.publish(topic, b"forged")) == "Not authorized", topic
    assert str(a.publish("fleet/v1/lc-cb-01/batch", b"as B")) == "Not authorized"
    assert str(a.publish("fleet/v1/lc-ca-01/batch", b"batch")) == "Success"
    ops.wait_message("fleet/v1/lc-ca-01/batch", payload=b"batch")
    assert str(ops.publish("fleet/v1/lc-cb-01/capabilities", b"word")) == "Success"
    b.wait_message("fleet/v1/lc-cb-01/capabilities", payload=b"word")
    assert b.received() == [("fleet/v1/lc-cb-01/capabilities", b"word")]
    assert a.received() == []
    assert [t for t, _ in ops.received()] == ["fleet/v1/lc-ca-01/batch"]
    a.close()
    b.close()
