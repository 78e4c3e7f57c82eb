"""The embedded MQTT broker for the demo: amqtt (pure Python, from PyPI) in a
child process, listening on 127.0.0.1 only.

It speaks MQTT 3.1.1, so ingest falls back to a plain subscription. It is
for the demo on a bare machine; production uses Mosquitto (broker/) or an
MQTT 5 cluster.

A demo that is killed (SIGKILL, a crash) must not leave the child holding
the MQTT port, so two things, on Linux:

- the child dies with its parent: it asks the kernel for SIGTERM when its
  parent goes (``prctl(PR_SET_PDEATHSIG)``, set by the child itself at its
  start rather than in a ``preexec_fn``, which is unsafe once the parent has
  threads), then checks that its parent is still the one that started it.
  The kernel sends it when the *thread* that started the child ends, so
  ``start()`` belongs on a thread that lives as long as the broker (the
  demo's main thread);
- its pid is kept in a pid file, and the next start stops a leftover the
  file names (``stop_leftover``) only if that process's command line is this
  broker's, started with this very pid file: never another process that
  reuses the pid.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from fleet_server.errors import BrokerUnavailable

log = logging.getLogger(__name__)


def _config(port: int) -> dict[str, object]:
    return {
        "listeners": {
            "default": {"type": "tcp", "bind": f"127.0.0.1:{port}", "max_connections": 20_000}
        },
        "plugins": {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True},
        },
    }


async def _serve(port: int) -> None:
    from amqtt.broker import Broker  # noqa: PLC0415 - optional demo dependency

    broker = Broker(_config(port))
    await broker.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await broker.shutdown()


MODULE = "fleet_server.embedded.broker"

#: linux/prctl.h
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """SIGTERM to this process when its parent ends (Linux); exit now if
    the parent has already gone (we were reparented before asking)."""
    if sys.platform != "linux":
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        log.warning("prctl(PR_SET_PDEATHSIG) failed: errno %d", ctypes.get_errno())
    if os.getppid() != parent_pid:
        sys.exit(0)


def _command_line(pid: int) -> list[str] | None:
    """``pid``'s argv if it runs as our user (Linux /proc), else None: gone,
    a zombie, another user's, or no /proc to tell."""
    proc = Path("/proc") / str(pid)
    try:
        if proc.stat().st_uid != os.getuid():
            return None
        raw = (proc / "cmdline").read_bytes()
    except OSError:
        return None
    return [a.decode(errors="replace") for a in raw.split(b"\0") if a] or None


def is_our_broker(pid: int, pid_file: Path) -> bool:
    """``pid`` runs this module with ``--pid-file pid_file``."""
    argv = _command_line(pid)
    if argv is None:
        return False
    try:
        module = argv[argv.index("-m") + 1]
        named = argv[argv.index("--pid-file") + 1]
    except (ValueError, IndexError):
        return False
    return module == MODULE and Path(named) == pid_file


class EmbeddedBroker:
    """Runs ``python -m fleet_server.embedded.broker`` and waits for its port.

    With ``pid_file``, the child's pid is kept there while it runs, and
    ``stop_leftover`` stops the one a killed parent left behind."""

    def __init__(self, port: int, log_file: Path, pid_file: Path | None = None) -> None:
        self.port = port
        self.log_file = log_file
        self.pid_file = pid_file.absolute() if pid_file is not None else None
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop_leftover(self, timeout: float = 10) -> int | None:
        """Stop the broker the pid file names if it is still running and is
        really ours (see ``is_our_broker``); the pid stopped, or None. The
        pid file is removed either way: a process it named that is not our
        broker is left alone."""
        if self.pid_file is None:
            return None
        try:
            pid = int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        if not is_our_broker(pid, self.pid_file):
            self.pid_file.unlink(missing_ok=True)
            return None
        log.warning("stopping the embedded broker a killed demo left running (pid %d)", pid)
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            # gone or a zombie (no command line): it holds no port any more
            while is_our_broker(pid, self.pid_file) and time.monotonic() < deadline:
                time.sleep(0.05)
            if not is_our_broker(pid, self.pid_file):
                break
        self.pid_file.unlink(missing_ok=True)
        return pid

    def start(self, timeout: float = 30) -> None:
        argv = [sys.executable, "-m", MODULE, "--port", str(self.port)]
        argv += ["--parent-pid", str(os.getpid())]
        if self.pid_file is not None:
            argv += ["--pid-file", str(self.pid_file)]
        with self.log_file.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=out, start_new_session=False)
        if self.pid_file is not None:
            partial = self.pid_file.with_name(self.pid_file.name + ".tmp")
            partial.write_text(f"{self.proc.pid}\n")
            partial.replace(self.pid_file)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                code = self.proc.returncode
                self.stop()
                raise BrokerUnavailable(f"embedded broker exited ({code}); see {self.log_file}")
            with socket.socket() as sock:
                sock.settimeout(0.2)
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        raise BrokerUnavailable(f"embedded broker did not listen on {self.port} in {timeout}s")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="embedded MQTT broker (amqtt) for the demo")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent-pid", type=int, help="exit when this parent does (Linux)")
    parser.add_argument("--pid-file", help="where the parent keeps this pid (read by no one here)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.parent_pid is not None:
        _die_with_parent(args.parent_pid)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
