"""The embedded MQTT broker for the demo: amqtt (pure Python, from PyPI) in a
child process, listening on 127.0.0.1 only.

It speaks MQTT 3.1.1, so ingest falls back to a plain subscription. It is
for the demo on a bare machine; production uses Mosquitto (broker/) or an
MQTT 5 cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
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


class EmbeddedBroker:
    """Runs ``python -m fleet_server.embedded.broker`` and waits for its port."""

    def __init__(self, port: int, log_file: Path) -> None:
        self.port = port
        self.log_file = log_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        out = self.log_file.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fleet_server.embedded.broker", "--port", str(self.port)],
            stdout=out,
            stderr=out,
            start_new_session=False,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerUnavailable(
                    f"embedded broker exited ({self.proc.returncode}); see {self.log_file}"
                )
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


def main() -> None:
    parser = argparse.ArgumentParser(description="embedded MQTT broker (amqtt) for the demo")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port))


if __name__ == "__main__":
    main()
