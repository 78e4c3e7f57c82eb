"""Boards as real processes running release bundles, for update tests.

- :class:`ReleaseServer`: a static file server on 127.0.0.1 that honours
  ``Range`` (what a board downloads from), able to cut a connection half-way.
- :func:`release`: an artifact built and signed by the real
  ``fleet-server releases build`` and ``sign`` code; :func:`broken_sources`
  gives the packages of a release whose agent exits 1 at start.
- :class:`Board`: a tmp ``/opt/fleet-agent`` layout with a first release
  installed, and a supervisor that does what systemd does with the unit
  (``ExecStartPre=`` guard, ``ExecStart=current/bin/edge-agent``,
  ``Restart=always``): real subprocesses, restarted after a short delay,
  stopped with SIGTERM.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge_agent.update import layout
from edge_agent.update.settings import UpdateConfig
from fleet_server.releases import bundle, signing

PYTHON = sys.executable


@dataclass(frozen=True)
class SigningKey:
    private: Path
    key_id: str
    public_b64: str


def signing_key(directory: Path) -> SigningKey:
    kid, private, public = signing.keygen(directory)
    return SigningKey(private, kid, public.read_text().strip())


@dataclass(frozen=True)
class Release:
    version: str
    artifact: Path
    manifest: dict[str, Any]


def release(version: str, out: Path, key: SigningKey, sources: list[Path] | None = None) -> Release:
    artifact = bundle.build(version, out, sources=sources)
    manifest_path = signing.sign(artifact, key.private)
    return Release(version, artifact, json.loads(manifest_path.read_text()))


def broken_sources(workdir: Path) -> list[Path]:
    """``edge_agent`` and ``fleet_protocol`` copied, with an agent that exits 1 at start."""
    dirs = []
    for name in bundle.PACKAGES:
        target = workdir / name
        shutil.copytree(bundle.package_dir(name), target, ignore=shutil.ignore_patterns("*.pyc"))
        dirs.append(target)
    (workdir / "edge_agent" / "__main__.py").write_text(
        'import sys\nprint("broken release", file=sys.stderr)\nsys.exit(1)\n'
    )
    return dirs


# -- the file server ----------------------------------------------------------------
class ReleaseServer:
    """Serves ``root`` on 127.0.0.1 with ``Range`` support. ``drop_after``:
    the next response stops after that many bytes (the connection closed).
    Faults a fuzzer would find: ``ignore_range`` (200 and the whole file on a
    resume), ``range_shift`` (206 from another offset than asked, said so in
    Content-Range), ``trickle_s`` (a pause between chunks of 1 KiB),
    ``redirects`` (path → Location, a 302)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.drop_after: int | None = None
        self.ignore_range = False
        self.range_shift = 0
        self.trickle_s: float | None = None
        self.redirects: dict[str, str] = {}
        self.ranges: list[str | None] = []
        self._closing = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._serve(self)

            def log_message(self, *_args: Any) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def _serve(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        if handler.path in self.redirects:
            handler.send_response(302)
            handler.send_header("Location", self.redirects[handler.path])
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        path = self.root / handler.path.lstrip("/")
        if "/" in handler.path.lstrip("/") or not path.is_file():
            handler.send_error(404)
            return
        data = path.read_bytes()
        wanted = handler.headers.get("Range")
        self.ranges.append(wanted)
        start = 0
        if (
            wanted
            and wanted.startswith("bytes=")
            and wanted.endswith("-")
            and not self.ignore_range
        ):
            start = max(0, int(wanted[6:-1]) - self.range_shift)
            if start >= len(data):
                handler.send_error(416)
                return
            handler.send_response(206)
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            handler.send_response(200)
        body = data[start:]
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        drop, self.drop_after = self.drop_after, None
        body = body if drop is None else body[:drop]
        if self.trickle_s is None:
            handler.wfile.write(body)
        else:
            with contextlib.suppress(OSError):  # the board gave up: that is the point
                for at in range(0, len(body), 1024):
                    if self._closing.wait(self.trickle_s):
                        break
                    handler.wfile.write(body[at : at + 1024])
                    handler.wfile.flush()
            return
        handler.wfile.flush()
        if drop is not None:
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(2)

    def close(self) -> None:
        self._closing.set()
        self.httpd.shutdown()
        self.httpd.server_close()


# -- the board ----------------------------------------------------------------------
class Board:
    """One board: the release layout under ``workdir/opt``, its state under
    ``workdir/var``, its agent run by a supervisor like systemd's."""

    def __init__(
        self,
        workdir: Path,
        device_id: str,
        mqtt_url: str,
        key: SigningKey,
        *,
        restart_delay_s: float = 0.2,
        extra_config: str = "",
    ) -> None:
        self.workdir = workdir
        self.device_id = device_id
        self.update = UpdateConfig(
            root=workdir / "opt",
            state_path=workdir / "var" / "update.json",
            public_keys={key.key_id: key.public_b64},
            retry_base_s=0.1,
        )
        workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / "agent.toml"
        self.config_path.write_text(
            f'device_id = "{device_id}"\n'
            f'mqtt_url = "{mqtt_url}"\n'
            f'spool_path = "{workdir / "var" / "spool.db"}"\n'
            "simulate = true\n"
            f"{extra_config}"
            "[intervals]\nheartbeat = 2\n"
            "[update]\n"
            f'root = "{self.update.root}"\n'
            f'state_path = "{self.update.state_path}"\n'
            "retry_base_s = 0.1\n"
            f'[update.public_keys]\n{key.key_id} = "{key.public_b64}"\n'
        )
        self.restart_delay_s = restart_delay_s
        self.starts = 0
        self.exit_codes: list[int] = []
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.log_path = workdir / "agent.log"

    def install(self, first: Release) -> None:
        """What packaging/install-board.sh does, in the tmp layout."""
        (self.workdir / "var").mkdir(mode=0o700, parents=True, exist_ok=True)
        layout.extract(first.artifact, self.update, first.version)
        layout.install_guard(self.update, first.version)
        layout.point(self.update.current, first.version)

    @property
    def active(self) -> str | None:
        return layout.active_version(self.update)

    def state(self) -> dict[str, Any] | None:
        path = self.update.state_path
        return json.loads(path.read_text()) if path.exists() else None

    # -- the supervisor -------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(target=self._supervise, name=f"board-{self.device_id}")
        self._thread.start()

    def _supervise(self) -> None:
        env = {**os.environ, "FLEET_AGENT_PYTHON": PYTHON}
        for name in [n for n in env if n.startswith("FLEET_AGENT_") and n != "FLEET_AGENT_PYTHON"]:
            del env[name]
        env.pop("PYTHONPATH", None)
        while not self._stop.is_set():
            with self.log_path.open("ab") as log:
                subprocess.run(
                    [str(self.update.guard), str(self.update.state_path)],
                    stdout=log,
                    stderr=log,
                    check=False,
                    timeout=30,
                )
                self.starts += 1
                self.proc = subprocess.Popen(
                    [
                        str(self.update.current / "bin" / "edge-agent"),
                        "--config",
                        str(self.config_path),
                        "run",
                    ],
                    stdout=log,
                    stderr=log,
                    env=env,
                    cwd=self.workdir,
                )
                self.exit_codes.append(self.proc.wait())
            self._stop.wait(self.restart_delay_s)

    def stop(self) -> None:
        self._stop.set()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self._thread is not None:
            self._thread.join(20)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@contextlib.contextmanager
def running(board: Board) -> Iterator[Board]:
    board.start()
    try:
        yield board
    finally:
        board.stop()
