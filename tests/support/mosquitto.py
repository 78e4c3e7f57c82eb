"""A real Mosquitto started from the project's broker/dev.conf on a free port."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

from tests.support.ports import free_port, wait_port

REPO = Path(__file__).resolve().parents[2]
DEV_CONF = REPO / "broker" / "dev.conf"


def mosquitto_binary() -> str:
    found = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if found is None:
        raise RuntimeError("mosquitto is not installed; the test command installs it")
    return found


def start_mosquitto(conf_path: Path, log_path: Path, ports: list[int]) -> subprocess.Popen[bytes]:
    """Start Mosquitto on ``conf_path`` and wait until it listens on ``ports``;
    its log (with the reason it failed) in the error otherwise."""
    log = log_path.open("ab")
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf_path)], stdout=log, stderr=log)
    try:
        for port in ports:
            wait_port(port)
    except TimeoutError:
        stop_mosquitto(proc)
        raise RuntimeError("mosquitto did not start:\n" + log_path.read_text()) from None
    return proc


def stop_mosquitto(proc: subprocess.Popen[bytes] | None) -> None:
    """Clean stop: Mosquitto saves its persistence file on SIGTERM."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Mosquitto:
    """One broker process; restartable on the same port with its persistence."""

    def __init__(self, workdir: Path, conf: Path = DEV_CONF, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.data_dir = workdir / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # Mosquitto drops root privileges to its own user, which must reach and
        # write its persistence directory (pytest's temporary dirs are 0700).
        os.chmod(workdir, 0o777)
        os.chmod(self.data_dir, 0o777)
        for parent in workdir.parents:
            mode = parent.stat().st_mode
            if not mode & 0o001:
                parent.chmod(mode | 0o001)
        self.conf_path = workdir / "mosquitto.conf"
        text = conf.read_text()
        text = re.sub(r"(?m)^listener \d+ 127\.0\.0\.1$", f"listener {self.port} 127.0.0.1", text)
        text = re.sub(
            r"(?m)^persistence_location .*$", f"persistence_location {self.data_dir}/", text
        )
        self.conf_path.write_text(text)
        self.log_path = workdir / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = start_mosquitto(self.conf_path, self.log_path, [self.port])

    def stop(self) -> None:
        stop_mosquitto(self.proc)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()
