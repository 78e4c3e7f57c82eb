"""docker/healthcheck.py (``fleet-healthcheck`` in the server image): what the
ingest, engine and api containers' health checks run, against a real
Prometheus endpoint (prometheus-client's own HTTP server)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from tests.support.ports import free_port

SCRIPT = Path(__file__).resolve().parents[2] / "docker" / "healthcheck.py"


@pytest.fixture
def metrics() -> Iterator[tuple[str, Gauge]]:
    registry = CollectorRegistry()
    connected = Gauge("fleet_ingest_broker_connected", "1 while connected", registry=registry)
    port = free_port()
    server, thread = start_http_server(port, addr="127.0.0.1", registry=registry)
    yield f"http://127.0.0.1:{port}/metrics", connected
    server.shutdown()
    server.server_close()
    thread.join(5)


def check(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_health_follows_the_endpoint_and_the_sample(metrics: tuple[str, Gauge]) -> None:
    url, connected = metrics
    assert check(url).returncode == 0

    connected.set(0)
    down = check(url, "fleet_ingest_broker_connected=1")
    assert down.returncode == 1
    assert "fleet_ingest_broker_connected is 0.0, not 1" in down.stdout

    connected.set(1)
    assert check(url, "fleet_ingest_broker_connected=1").returncode == 0
    missing = check(url, "fleet_engine_leader=1")
    assert (missing.returncode, "no fleet_engine_leader" in missing.stdout) == (1, True)


def test_nothing_listening_is_unhealthy() -> None:
    result = check(f"http://127.0.0.1:{free_port()}/metrics")
    assert result.returncode == 1
    assert result.stdout.startswith("unhealthy:")
