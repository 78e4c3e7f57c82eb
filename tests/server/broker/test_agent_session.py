"""The real board agent's MQTT session against the production broker: a
password board on 8883 and a certificate board on 8884, as provisioned."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import pytest

from edge_agent.config import AgentConfig
from edge_agent.session import Session
from fleet_server.broker import pki
from fleet_server.broker.dynsec import DynsecClient
from tests.support.secure_broker import MqttProbe, SecureBroker
from tests.support.wait import wait_for


@pytest.mark.parametrize("kind", ["password", "certificate"])
def test_agent_session_connects_reports_and_gets_its_commands(
    kind: str,
    secure_broker: SecureBroker,
    dynsec: DynsecClient,
    server: MqttProbe,
    tmp_path: Path,
) -> None:
    board_id = f"lc-agt-{kind[:4]}"
    settings: dict[str, object] = {"ca_file": secure_broker.ca_file}
    if kind == "password":
        password = "agent-password-0123456789"
        dynsec.ensure_board(board_id, password)
        credentials = tmp_path / "mqtt.pw"
        pki.write_private_file(credentials, password.encode() + b"\n")
        settings |= {"mqtt_url": secure_broker.tls_url, "credentials_file": credentials}
    else:
        issued = secure_broker.ca.issue_board_certificate(board_id)
        dynsec.ensure_board(board_id, None)
        (tmp_path / "board.crt").write_bytes(issued.certificate_pem)
        pki.write_private_file(tmp_path / "board.key", issued.private_key_pem)
        settings |= {
            "mqtt_url": secure_broker.mtls_url,
            "cert_file": tmp_path / "board.crt",
            "key_file": tmp_path / "board.key",
        }
    config = AgentConfig.model_validate(
        {"device_id": board_id, "spool_path": tmp_path / "spool.db", **settings}
    )
    received: list[tuple[str, bytes]] = []
    seq = itertools.count(1)
    session = Session(
        config,
        boot=1,
        next_seq=lambda: next(seq),
        on_message=lambda topic, payload: received.append((topic, payload)),
        wake=threading.Event(),
        heartbeat_interval=lambda: 30.0,
    )
    session.start()
    try:
        assert session.ready.wait(15), session.last_error
        server.wait_message(f"fleet/v1/{board_id}/state")  # the birth
        ops = secure_broker.server_probe("fleet-api-agent")
        assert ops.connect().ok
        ops.publish(f"fleet/v1/{board_id}/cmd/ping", b'{"request_id": "r1"}')
        wait_for(lambda: received, timeout=10, what="the command at the agent")
        assert received == [(f"fleet/v1/{board_id}/cmd/ping", b'{"request_id": "r1"}')]
    finally:
        session.stop()
