"""docker/healthcheck.py (``fleet-healthcheck`` in the server image): what the
ingest, engine and api containers' health checks run, against a real
Prometheus endpoint (prometheus-client's own HTTP server)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from fleet_server.metrics import serving
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


def check(*args: str, token: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        env=dict(os.environ, FLEET_METRICS_TOKEN=token),
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


def test_the_container_token_is_sent_when_metrics_require_it() -> None:
    registry = CollectorRegistry()
    Gauge("fleet_ingest_broker_connected", "1 while connected", registry=registry).set(1)
    token = "h7Rk2-Wq9sLm_4VxTe0bYc3N"
    with serving(registry, "127.0.0.1", free_port(), token) as port:
        url = f"http://127.0.0.1:{port}/metrics"
        refused = check(url)
        assert (refused.returncode, "401" in refused.stdout) == (1, True)
        assert check(url, "fleet_ingest_broker_connected=1", token=token).returncode == 0
