"""The compose stack's simulated boards: ``python -m fleet_server.simulator.provision``
gives seeded boards real broker accounts and files, and the simulator
container's script (docker/simulator/run-boards.sh) runs one real edge agent
per board against a production-configured Mosquitto (TLS, dynamic security)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from edge_agent.config import load_config
from fleet_server.simulator.provision import main
from tests.support.secure_broker import SecureBroker
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[3]
RUN_BOARDS = REPO / "docker" / "simulator" / "run-boards.sh"
HEALTHCHECK = REPO / "docker" / "simulator" / "healthcheck.sh"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[SecureBroker]:
    secure = SecureBroker.create(tmp_path / "secure-broker")
    secure.start()
    yield secure
    secure.stop()


@pytest.fixture
def settings_env(broker: SecureBroker, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the sim-provision service gets from docker-compose.yml."""
    monkeypatch.setenv("FLEET_DATABASE_URL", db_url)
    monkeypatch.setenv(
        "FLEET_BROKER_ADMIN_URL",
        f"mqtts://{broker.admin_username}:{broker.admin_password}@127.0.0.1:{broker.tls_port}",
    )
    monkeypatch.setenv("FLEET_BROKER_CA_FILE", str(broker.ca_file))
    monkeypatch.setenv("FLEET_PROVISIONING_MQTT_URL", broker.tls_url)


def provision(out: Path, boards: int, capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["--boards", str(boards), "--out", str(out)]) == 0
    return capsys.readouterr().out.splitlines()


@pytest.mark.usefixtures("settings_env")
def test_boards_get_accounts_and_files_once(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"

    lines = provision(out, 3, capsys)

    assert len(lines) == 3
    assert all(": provisioned at " in line for line in lines)
    boards = sorted(p.name for p in out.iterdir())
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "SELECT id, auth FROM boards WHERE id = ANY(%s) ORDER BY id", (boards,)
        ).fetchall()
    assert rows == [(b, "password") for b in boards]
    border = next(
        b for b in boards if (out / b / "agent.toml").read_text().count("[[cameras]]") == 2
    )
    config = load_config(out / border / "agent.toml", environ={})
    assert config.device_id == border
    assert config.simulate is True
    assert config.spool_path == out / border / "spool.db"
    assert [c.id for c in config.cameras] == ["cam1", "cam2"]
    assert config.credentials_file == out / border / "mqtt.pw"
    assert stat.S_IMODE(os.stat(out / border / "mqtt.pw").st_mode) == 0o600
    passwords = {b: (out / b / "mqtt.pw").read_text() for b in boards}

    # A second start of the stack keeps running agents' passwords valid...
    assert all(": kept" in line for line in provision(out, 3, capsys))
    assert {b: (out / b / "mqtt.pw").read_text() for b in boards} == passwords
    # ...and a board whose files were lost gets new credentials.
    for path in (out / boards[0]).iterdir():
        path.unlink()
    again = provision(out, 3, capsys)
    assert sum(": provisioned at " in line for line in again) == 1
    assert (out / boards[0] / "mqtt.pw").read_text() != passwords[boards[0]]


@pytest.mark.usefixtures("settings_env")
def test_simulator_script_runs_one_real_agent_per_board(
    tmp_path: Path, broker: SecureBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sim"
    provision(out, 2, capsys)
    boards = sorted(p.name for p in out.iterdir())
    server = broker.server_probe("fleet-server-sim-test")
    assert server.connect().ok
    assert not any(c.is_failure for c in server.subscribe("fleet/v1/+/state"))
    assert not any(c.is_failure for c in server.subscribe("fleet/v1/+/telemetry/+"))
    pid_file = tmp_path / "agents.pids"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLEET_")},
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "SIM_DIR": str(out),
        "SIM_PID_FILE": str(pid_file),
    }
    log = (tmp_path / "run-boards.log").open("wb")
    proc = subprocess.Popen(["bash", str(RUN_BOARDS)], env=env, stdout=log, stderr=log)
    try:
        for board in boards:
            server.wait_message(f"fleet/v1/{board}/state", timeout=30)
            server.wait_message(f"fleet/v1/{board}/telemetry/heartbeat", timeout=30)
        health = subprocess.run(["bash", str(HEALTHCHECK)], env=env, check=False)
        assert health.returncode == 0

        # One agent dies: the set stops and the container would restart.
        first = int(pid_file.read_text().split()[0])
        os.kill(first, signal.SIGKILL)
        assert proc.wait(30) == 1
        assert subprocess.run(["bash", str(HEALTHCHECK)], env=env, check=False).returncode == 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        log.close()
        server.close()
    wait_for(lambda: not any(_alive(int(p)) for p in pid_file.read_text().split()), timeout=10)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie of ours counts as gone.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
