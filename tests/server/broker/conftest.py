"""Fixtures: a real Mosquitto from broker/mosquitto.conf (TLS, dynsec) per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fleet_server.broker.dynsec import DynsecClient
from tests.support.secure_broker import MqttProbe, SecureBroker


@pytest.fixture
def secure_broker(tmp_path: Path) -> Iterator[SecureBroker]:
    """A started production-configured broker with its own CA and accounts."""
    broker = SecureBroker.create(tmp_path / "secure-broker")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def dynsec(secure_broker: SecureBroker) -> Iterator[DynsecClient]:
    """The provisioning admin, connected over TLS."""
    with secure_broker.dynsec() as client:
        yield client


@pytest.fixture
def server(secure_broker: SecureBroker) -> Iterator[MqttProbe]:
    """The fleet server's account, connected and subscribed to every board's
    outbound topics (what ingest reads)."""
    probe = secure_broker.server_probe()
    result = probe.connect()
    assert result.ok, result.reason
    for flt in ("fleet/v1/+/state", "fleet/v1/+/telemetry/+", "fleet/v1/+/event/+"):
        assert not any(c.is_failure for c in probe.subscribe(flt))
    yield probe
    probe.close()
