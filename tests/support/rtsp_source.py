"""A real RTSP server (Debian's rtsp-server-perl) fed by real encoders
(ffmpeg ``-re``, libx264): what each stream shows is an ffmpeg lavfi source
(a test pattern, a black or flat grey picture, another scene) or ``STILL``, a
picture looped (a frozen encoder). A stream's source can be swapped while
the server runs (the camera's picture goes black, and comes back): clients
asking in between are answered 404, as by a camera rebooting its encoder.

The server takes the UDP ports of its sources and clients from 20000 up,
whatever it is told (``--rtp_start_port`` is forgotten by its housekeeping,
which resets to the package's ``$RTP_START_PORT``): two such servers on one
machine at once disturb each other (RECORD answered 404). So the server runs
with that variable set too, from a base picked at random below the
ephemeral ports. Encoders announce one after the other: two announcing at
once get a RECORD refused.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from edge_agent.proof import Grabber, RtspSource
from edge_agent.proof.grab import CaptureError
from tests.support.ports import free_port, wait_port

#: a picture looped: every frame the same
STILL = "still"


class RtspRelay:
    def __init__(self, workdir: Path, ffmpeg: str, still: Path, client_port: int, source_port: int):
        self.workdir = workdir
        self.ffmpeg = ffmpeg
        self.still = still
        self.port = client_port
        self.source_port = source_port
        self.pushers: dict[str, subprocess.Popen[bytes]] = {}
        self._runs = 0

    def url(self, name: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{name}"

    def show(self, name: str, scene: str, timeout: float = 30) -> None:
        """Stream ``name`` shows ``scene`` from now on (its encoder replaced),
        once the new encoder is encoding."""
        self.stop(name)
        self._runs += 1
        base = self.workdir / f"{name}-{self._runs}"
        source = ["-loop", "1", "-framerate", "10", "-i", str(self.still)]
        if scene != STILL:
            source = ["-f", "lavfi", "-i", scene]
        with open(f"{base}.log", "wb") as log:  # the encoder keeps its own copy
            pusher = subprocess.Popen(
                [
                    *(self.ffmpeg, "-hide_banner", "-loglevel", "error", "-re", *source),
                    *("-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency"),
                    *("-g", "10", "-pix_fmt", "yuv420p"),
                    *("-progress", f"{base}.progress", "-stats_period", "0.2"),
                    *("-f", "rtsp", f"rtsp://127.0.0.1:{self.source_port}/{name}"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )
        self.pushers[name] = pusher
        progress = Path(f"{base}.progress")
        deadline = time.monotonic() + timeout
        while not (progress.exists() and "progress=" in progress.read_text()):
            assert pusher.poll() is None, Path(f"{base}.log").read_text()
            assert time.monotonic() < deadline, f"encoder {name} never started"
            time.sleep(0.05)

    def stop(self, name: str) -> None:
        pusher = self.pushers.pop(name, None)
        if pusher is not None:
            pusher.terminate()
            pusher.wait(10)

    def wait_video(self, names: Iterable[str], timeout: float = 30) -> None:
        """Until a client gets a picture from each of ``names``."""
        names = list(names)
        deadline = time.monotonic() + timeout
        with ThreadPoolExecutor(max(1, len(names))) as pool:
            list(pool.map(lambda name: self._first_frame(name, deadline), names))

    def _first_frame(self, name: str, deadline: float) -> None:
        url = self.url(name)
        while True:
            try:
                Grabber(timeout_s=10).grab(RtspSource(url=url, shown=url))
            except CaptureError:
                assert time.monotonic() < deadline, f"no video from stream {name}"
                time.sleep(0.2)
            else:
                return

    def close(self) -> None:
        for name in list(self.pushers):
            self.stop(name)


def require_tools() -> tuple[str, str]:
    """The paths of rtsp-server-perl and ffmpeg (RuntimeError: not installed)."""
    server, ffmpeg = shutil.which("rtsp-server-perl"), shutil.which("ffmpeg")
    if server is None or ffmpeg is None:
        raise RuntimeError("install the Debian packages rtsp-server-perl and ffmpeg")
    return server, ffmpeg


@contextmanager
def rtsp_relay(workdir: Path) -> Iterator[RtspRelay]:
    """An RTSP server on free ports, no stream yet (``show`` adds them)."""
    server, ffmpeg = require_tools()
    still = workdir / "still.png"
    subprocess.run(
        [
            ffmpeg,
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=320x180",
            "-frames:v",
            "1",
            str(still),
        ],
        check=True,
        timeout=30,
    )
    client_port, source_port = free_port(), free_port()
    rtp_base = 21_000 + 400 * random.randrange(28)  # not 20000: another server's
    proc = subprocess.Popen(
        [
            "perl",
            "-e",
            # the package's start port set before the script makes its server
            "use RTSP::Server; $RTSP::Server::RTP_START_PORT = shift @ARGV;"
            " my $script = shift @ARGV; do $script; die $@ if $@",
            str(rtp_base),
            server,
            f"--rtp_start_port={rtp_base}",
            f"--clientport={client_port}",
            f"--serverport={source_port}",
            "--client_listen_address=127.0.0.1",
            "--source_listen_address=127.0.0.1",
            "--loglevel=2",
        ],
        cwd=workdir,
        stdout=(workdir / "server.log").open("wb"),
        stderr=subprocess.STDOUT,
    )
    relay = RtspRelay(workdir, ffmpeg, still, client_port, source_port)
    try:
        wait_port(client_port, timeout=30)
        wait_port(source_port, timeout=30)
        yield relay
    finally:
        relay.close()
        proc.terminate()
        proc.wait(10)
