"""The compose stack's broker, without Docker: docker/broker-init.sh makes a
broker directory that Mosquitto runs from broker/mosquitto.conf, with the
passwords and names given; a second start changes nothing; and the mosquitto
service's health check (from docker-compose.yml) tells a running broker from
a stopped one."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # type: ignore[import-untyped]  # no stubs in the dev dependencies
from cryptography import x509

from tests.support.secure_broker import Accounts, SecureBroker

REPO = Path(__file__).resolve().parents[2]
BROKER_INIT = REPO / "docker" / "broker-init.sh"
ADMIN_PASSWORD = "admin-password-0123456789"
SERVER_PASSWORD = "server-password-0123456789"


def run_init(broker_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "BROKER_DIR": str(broker_dir),
        "BROKER_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BROKER_SERVER_PASSWORD": SERVER_PASSWORD,
        "BROKER_PUBLIC_HOST": "mqtt.laichau.example",
        "BROKER_PUBLIC_IP": "203.0.113.7",
    }
    return subprocess.run(
        ["bash", str(BROKER_INIT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def compose_healthcheck(broker: SecureBroker) -> list[str]:
    """The mosquitto service's health check, pointed at this broker."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    kind, command = compose["services"]["mosquitto"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    command = command.replace("-p 8883", f"-p {broker.tls_port}")
    command = command.replace("/var/lib/mosquitto/fleet/ca/ca.crt", str(broker.ca_file))
    return ["sh", "-c", command]


def test_broker_init_then_mosquitto_from_the_production_file(tmp_path: Path) -> None:
    broker_dir = tmp_path / "broker"

    first = run_init(broker_dir)

    assert first.returncode == 0, first.stderr
    assert "initialised" in first.stdout
    assert ADMIN_PASSWORD not in first.stdout + first.stderr
    cert = x509.load_pem_x509_certificate((broker_dir / "server.crt").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(names.get_values_for_type(x509.DNSName)) == {
        "mosquitto",
        "localhost",
        "mqtt.laichau.example",
    }
    assert set(names.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("203.0.113.7"),
    }
    dynsec = (broker_dir / "dynamic-security.json").read_bytes()

    again = run_init(broker_dir)

    assert again.returncode == 0, again.stderr
    assert "already initialised" in again.stdout
    assert (broker_dir / "dynamic-security.json").read_bytes() == dynsec

    accounts = Accounts("fleet-admin", ADMIN_PASSWORD, "fleet-server", SERVER_PASSWORD)
    broker = SecureBroker(tmp_path / "run", broker_dir, accounts)
    broker.start()
    try:
        server = broker.server_probe()
        assert server.connect().ok  # the fleet-server account, over TLS
        server.close()
        with broker.dynsec() as admin:  # the provisioning admin
            assert admin.get_client("fleet-server") is not None
        healthy = subprocess.run(compose_healthcheck(broker), timeout=30, check=False)
        assert healthy.returncode == 0
    finally:
        broker.stop()
    unhealthy = subprocess.run(compose_healthcheck(broker), timeout=30, check=False)
    assert unhealthy.returncode != 0


@pytest.mark.parametrize("missing", ["BROKER_ADMIN_PASSWORD", "BROKER_PUBLIC_HOST"])
def test_broker_init_refuses_without_a_setting(tmp_path: Path, missing: str) -> None:
    env = {
        "PATH": os.environ["PATH"],
        "BROKER_DIR": str(tmp_path / "broker"),
        "BROKER_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "BROKER_SERVER_PASSWORD": SERVER_PASSWORD,
        "BROKER_PUBLIC_HOST": "mqtt.laichau.example",
    }
    del env[missing]
    result = subprocess.run(
        ["bash", str(BROKER_INIT)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert missing in result.stderr
    assert not (tmp_path / "broker").exists()
