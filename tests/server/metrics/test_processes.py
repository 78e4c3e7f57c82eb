"""``fleet-server ingest`` and ``fleet-server engine`` serve /metrics on the
port their settings give (behind FLEET_METRICS_TOKEN when set), and stop cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.metrics import Scrape, parse
from tests.support.mosquitto import Mosquitto
from tests.support.ports import free_port, wait_port
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[3]
TOKEN = "p0Wc7-Hn2sVd_9eKx4LqRm3T"


def fetch(port: int, token: str | None = None) -> Scrape:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(request, timeout=10) as response:
        return parse(response.read().decode())


def start(role: list[str], log: Path, **env: str) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "fleet_server.cli", *role],
            cwd=REPO,
            env=dict(os.environ, **env),
            stdout=out,
            stderr=out,
        )


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    """SIGTERM, then 30 s to exit with 0; otherwise fail with the processes'
    log (and kill it, so no process outlives the test)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
        pytest.fail(f"pid {proc.pid} did not stop within 30 s of SIGTERM:\n{log.read_text()}")
    assert code == 0, log.read_text()


def test_ingest_and_engine_serve_their_metrics(
    db_url: str, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    ingest_port, engine_port = free_port(), free_port()
    log = tmp_path / "roles.log"
    common = {"FLEET_DATABASE_URL": db_url, "FLEET_MQTT_URL": mosquitto.url}
    ingest = start(
        ["ingest"],
        log,
        **common,
        FLEET_INGEST_CLIENT_ID="metrics-test-ingest",
        FLEET_INGEST_METRICS_PORT=str(ingest_port),
        FLEET_METRICS_TOKEN=TOKEN,
    )
    # with the delivery worker (nothing to deliver: no SMTP server needed)
    engine = start(["engine"], log, **common, FLEET_ENGINE_METRICS_PORT=str(engine_port))
    try:
        wait_port(ingest_port, timeout=30)
        wait_port(engine_port, timeout=30)
        with pytest.raises(urllib.error.HTTPError) as refused:
            fetch(ingest_port)
        assert refused.value.code == 401
        assert refused.value.headers["WWW-Authenticate"] == "Bearer"
        wait_for(
            lambda: fetch(ingest_port, TOKEN).value("fleet_ingest_broker_connected") == 1,
            what="ingest connected, as its metrics say",
        )
        wait_for(
            lambda: fetch(engine_port).value("fleet_engine_leader") == 1,
            what="the engine leading, as its metrics say",
        )
        page = fetch(engine_port)
        assert page.value("fleet_notifications_sent_total", channel="email") == 0
        assert "process_cpu_seconds_total" in page.families
    finally:
        for proc in (ingest, engine):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
    stop(ingest, log)
    stop(engine, log)
