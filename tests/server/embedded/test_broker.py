"""The demo's embedded MQTT broker when its demo is killed: the child dies
with its parent, a leftover the pid file names is stopped at the next start
if it really is our broker, and nothing else is ever killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from fleet_server.demo import _broker
from fleet_server.embedded.broker import MODULE, is_our_broker
from fleet_server.errors import ConfigError
from tests.support.ports import free_port
from tests.support.wait import wait_for

REPO = Path(__file__).resolve().parents[3]

#: What the demo runs (demo.py ``_broker``), in a process of its own that
#: prints its broker's pid and then waits to be killed.
OWNER = """
import sys, time
from pathlib import Path
from fleet_server.demo import _broker
with _broker(int(sys.argv[1]), Path(sys.argv[2])):
    print(Path(sys.argv[2], "broker.pid").read_text().strip(), flush=True)
    time.sleep(3600)
"""


@pytest.fixture(autouse=True)
def _embedded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLEET_MQTT_URL", raising=False)


def alive(pid: int) -> bool:
    """Running, not a zombie."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def mqtt_connects(port: int) -> bool:
    """An MQTT 3.1.1 CONNECT answered by a CONNACK that accepts it."""
    connect = bytes([0x10, 16, 0, 4]) + b"MQTT" + bytes([4, 2, 0, 60, 0, 4]) + b"test"
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(connect)
        return sock.recv(4) == bytes([0x20, 2, 0, 0])


def listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def owner(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, int]]:
    """A process that started the broker as the demo does: (it, the MQTT
    port, the broker child's pid)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(port), str(tmp_path)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        assert psutil.Process(child).ppid() == proc.pid
        yield proc, port, child
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


@pytest.fixture
def unrelated() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "600"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_after_the_demo_is_killed_the_same_command_starts_again(
    owner: tuple[subprocess.Popen[str], int, int], tmp_path: Path
) -> None:
    proc, port, child = owner
    assert mqtt_connects(port)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # at once, whether the old broker has finished dying or not
    with _broker(port, tmp_path) as (url, _):
        assert url == f"mqtt://127.0.0.1:{port}"
        assert not alive(child)
        assert mqtt_connects(port)
        assert (tmp_path / "broker.pid").read_text().strip() != str(child)
    assert not (tmp_path / "broker.pid").exists()
    assert not listening(port)


def test_the_broker_dies_with_its_parent(owner: tuple[subprocess.Popen[str], int, int]) -> None:
    proc, port, child = owner
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    wait_for(lambda: not alive(child), timeout=15, what="the broker to exit after its parent")
    wait_for(lambda: not listening(port), timeout=5, what="the MQTT port to be free")


def test_a_leftover_that_outlived_its_parent_is_stopped(tmp_path: Path) -> None:
    """A broker whose death signal did not come (not Linux, say): the pid
    file names it, its command line is ours, the next start stops it."""
    port = free_port()
    pid_file = tmp_path / "broker.pid"
    leftover = subprocess.Popen(
        [sys.executable, "-m", MODULE, "--port", str(port), "--pid-file", str(pid_file)],
        cwd=REPO,
        start_new_session=True,
    )
    try:
        pid_file.write_text(f"{leftover.pid}\n")
        wait_for(lambda: listening(port), timeout=30, what="the leftover broker to listen")
        assert is_our_broker(leftover.pid, pid_file)
        with _broker(port, tmp_path):
            assert leftover.poll() is not None
            assert mqtt_connects(port)
    finally:
        if leftover.poll() is None:
            leftover.kill()
        leftover.wait()


def test_a_pid_file_naming_another_process_kills_nothing(
    tmp_path: Path, unrelated: subprocess.Popen[bytes]
) -> None:
    pid_file = tmp_path / "broker.pid"
    pid_file.write_text(f"{unrelated.pid}\n")
    assert not is_our_broker(unrelated.pid, pid_file)
    port = free_port()
    with _broker(port, tmp_path):
        assert mqtt_connects(port)
    assert unrelated.poll() is None
    # and when the port is someone else's, the error says so, killing nothing
    pid_file.write_text(f"{unrelated.pid}\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with (
            pytest.raises(ConfigError, match="--mqtt-port"),
            _broker(taken.getsockname()[1], tmp_path),
        ):
            pass
    assert unrelated.poll() is None


def test_another_data_dirs_broker_is_not_ours(tmp_path: Path) -> None:
    """Our module, but started for another data directory's pid file: left alone."""
    other_port = free_port()
    other = tmp_path / "other"
    other.mkdir()
    with _broker(other_port, other):
        other_pid = int((other / "broker.pid").read_text())
        mine = tmp_path / "mine"
        mine.mkdir()
        (mine / "broker.pid").write_text(f"{other_pid}\n")
        assert not is_our_broker(other_pid, mine / "broker.pid")
        port = free_port()
        with _broker(port, mine):
            assert mqtt_connects(port)
        assert alive(other_pid)
        assert mqtt_connects(other_port)


def test_our_pid_is_never_ours_to_kill(tmp_path: Path) -> None:
    assert not is_our_broker(os.getpid(), tmp_path / "broker.pid")
