"""`fleet-server demo` as a user runs it: a process tree that starts from a
clean data directory, fills the database, stops on Ctrl-C leaving nothing
behind, and reuses its data on the next start."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from tests.support.ports import free_port
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[3]


def start_demo(
    data_dir: Path, mqtt_port: int, log: Path, *extra: str, api_port: int | None = None
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if k not in ("FLEET_DATABASE_URL", "FLEET_MQTT_URL")}
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fleet_server.cli",
                "demo",
                "--boards",
                "6",
                "--data-dir",
                str(data_dir),
                "--mqtt-port",
                str(mqtt_port),
                "--api-port",
                str(api_port or free_port()),
                *extra,
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=out,
        )


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def alive(pid: int) -> bool:
    """Running, not a zombie (a sandbox's init may be slow to reap)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def tree(pid: int) -> list[psutil.Process]:
    return psutil.Process(pid).children(recursive=True)


def postmaster(data_dir: Path) -> int | None:
    pid_file = data_dir / "pg" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def run_once(data_dir: Path, mqtt_port: int, log: Path, boot: int) -> None:
    """Start, wait for every board's birth of this ``boot`` in the database,
    Ctrl-C, check that nothing is left running."""
    state = data_dir / "demo.json"
    state.unlink(missing_ok=True)
    proc = start_demo(data_dir, mqtt_port, log)
    try:
        wait_for(state.exists, timeout=90, what=f"demo started (log: {log})")
        info = json.loads(state.read_text())
        url = info["database_url"]
        with psycopg.connect(url, autocommit=True) as db:
            births = "SELECT count(*) FROM board_latest WHERE kind = 'state' AND boot = %s"
            wait_for(
                lambda: db.execute(births, (boot,)).fetchone() == (6,),
                timeout=30,
                what=f"a birth of boot {boot} from each of the 6 boards",
            )
            assert db.execute("SELECT count(*) FROM boards").fetchone() == (6,)
            # every board met the birth of this boot only: no reboot counted
            assert db.execute(
                "SELECT count(*) FROM board_states WHERE received_at > now() - interval '1 hour'"
                " AND boot <> %s AND status = 'online'",
                (boot,),
            ).fetchone() == (0,)
            judged = db.execute("SELECT count(*) FROM compliance_days").fetchone()
            assert judged is not None
            assert judged[0] > 0
            # The services run as the application role, which cannot rewrite the audit log.
            assert db.execute(
                "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
            ).fetchone() == ("fleet_app", False)
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute("DELETE FROM audit_log")
        # The console answers, and the printed demo account logs in.
        accounts = json.loads(Path(info["accounts_file"]).read_text())
        assert oct(Path(info["accounts_file"]).stat().st_mode & 0o777) == "0o600"
        assert f"quan.tri / {accounts['quan.tri']}" in log.read_text()
        login = httpx.post(
            info["console_url"] + "api/v1/auth/token",
            data={"username": "quan.tri", "password": accounts["quan.tri"]},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        boards = httpx.get(
            info["console_url"] + "api/v1/boards",
            headers={"Authorization": f"Bearer {login.json()['access_token']}"},
            timeout=10,
        )
        assert boards.json()["total"] == 6
        api_port = int(info["console_url"].rsplit(":", 1)[1].strip("/"))
        children = tree(proc.pid)
        pg_pid = postmaster(data_dir)
        assert pg_pid is not None
        pg_port = int(url.rsplit(":", 1)[1].split("/")[0])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not [c for c in children if alive(c.pid)]
    assert not alive(pg_pid)
    assert not listening(mqtt_port)
    assert not listening(pg_port)
    assert not listening(api_port)


def test_demo_runs_stops_cleanly_and_reuses_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "demo"
    port = free_port()
    log = tmp_path / "demo.log"
    run_once(data_dir, port, log, boot=1)
    first = log.read_text()
    # The first start wrote a week of history, and the banner says where
    # notices go and which rules run.
    assert "7 days of history:" in first
    assert "Rule profile" in first
    assert "tickets after 60 s" in first
    assert f"{data_dir / 'notices.txt'}" in first
    assert "/notices" in first
    # A restart of the demo is no reboot of its boards: same boot, same
    # database, and the history is not written twice.
    run_once(data_dir, port, log, boot=1)
    assert log.read_text().count("7 days of history:") == 1
    assert (data_dir / "agents" / "lc-ma-lu-thang-01.db").exists()  # real agents' spools


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = start_demo(tmp_path / "demo", port, tmp_path / "log")
        assert proc.wait(90) == 1
    text = (tmp_path / "log").read_text()
    assert f"port {port}" in text
    assert "--mqtt-port" in text
    assert postmaster(tmp_path / "demo") is None or not psutil.pid_exists(
        postmaster(tmp_path / "demo") or 0
    )


def test_unwritable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = start_demo(blocker / "demo", free_port(), tmp_path / "log")
    assert proc.wait(30) == 1
    text = (tmp_path / "log").read_text()
    assert "not writable" in text
    assert "--data-dir" in text
