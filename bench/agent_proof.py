"""Screen and camera proof: what it adds to the edge agent (issue 18).

Two agents run side by side against one real Mosquitto, each through its own
byte-counting TCP relay, with the board's real collectors (not simulated):

- ``baseline``: the same board without proof (``capture.screen_source =
  "none"``, ``proof.camera_interval_s = 0``, no default-account check);
- ``proof``: the default proof settings, the screen grabbed from a real
  Xvfb display (1920 × 1080, repainted by ``xsetroot`` every 2 s) and two
  cameras from a real RTSP server (rtsp-server-perl fed by ffmpeg test
  patterns, 1280 × 720 H.264 at 10 fps).

Both read the same player status file (the item on air changes every
2 minutes, scaled like everything else below) and the same cameras; both
send on puback (no ingest here to send receipts).

Phase 1, **default settings** in real time (``--minutes``): screen every
60 s, each camera every 300 s, display readings every 30 s, camera
readings every 60 s. The interval pictures (every 6 h) are set not to fall
in this window (their cost is measured in phase 2).

Phase 2, **compressed** (``--compressed-minutes``, ``--factor`` F): every
interval of both agents (readings, captures, pictures, the default-account
check) divided by F, the daily picture budget multiplied by F (its day is
the board's real day), one set of interval pictures half-way through, the
screen black for 10 screen intervals once (an incident picture). Per day =
what the run measured × 86,400 / (run seconds × F); CPU per day likewise
(the added CPU-seconds of the run are those of run × F seconds of a board
at default settings). A capture holds up the agent's reading loop, so at a
high F the board with proof falls behind its schedule: ``pace`` shows the
readings and captures each agent made against those scheduled.

The check bytes per day do not depend on the pace: what a display (camera)
reading with proof carries beyond the same reading without, on average,
times the 2,880 (1,440) readings of a day at the default intervals.

CPU is the agent's own plus that of the ffmpeg runs it waited for
(``children_user`` + ``children_system`` of /proc/<pid>/stat), as % of one
core. RSS is sampled every 0.2 s: the agent's, and each ffmpeg child's
high-water mark (``VmHWM``) as last seen. Bytes are counted at the relay
(everything on the wire both ways, MQTT framing included, TLS not) and per
channel from the broker (payload + MQTT PUBLISH header at QoS 1).

Same-run baselines (issue 20): the agent without proof is the baseline of
the one with it (``ratio``: with ÷ without). And before the phases, bare
frame grabs from the same sources (plain ``ffmpeg`` reading and decoding
one frame, writing nothing, 3 of each: the screen and camera 1, CPU from
``wait4``): ``ratio_added_cpu_over_bare_grabs`` is the CPU the proof added
over what the same number of bare grabs (the phase's screen and camera
ffmpeg runs) cost, i.e. the proof pipeline (grey frame, verdicts, JPEG
sizing, messages) against only reading the pictures.

    .venv/bin/python -m bench.agent --proof --minutes 10 --compressed-minutes 15 --factor 12
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import psutil
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.mosquitto import Mosquitto, mosquitto_binary
from tests.support.ports import free_port, wait_port

REPO = Path(__file__).resolve().parents[1]
DAY = 86_400
SCREEN = (1920, 1080)
CAMERA = "testsrc2=size=1280x720:rate=10"
CAMERAS = ("cam1", "cam2")
#: the proof defaults (fleet_protocol.ProofConfig) and reading intervals (Intervals)
SCREEN_S, CAMERA_S, SNAPSHOT_S, DAILY_BYTES = 60, 300, 21_600, 2_000_000
READINGS = {"heartbeat": 30, "power": 60, "network": 60, "camera": 60, "display": 30}
CREDENTIALS_S = 86_400
ITEM_S = 120  # the player's item on air changes this often


# --------------------------------------------------------------------------- the world


class Relay:
    """A TCP relay to the broker counting the bytes each way."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target = target_port
        self.up = 0  # agent → broker
        self.down = 0
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self) -> tuple[int, int]:
        with self._lock:
            counts = (self.up, self.down)
            self.up = self.down = 0
        return counts

    def _accept(self) -> None:
        self._listener.settimeout(0.5)
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target))
            threading.Thread(target=self._pipe, args=(client, server), daemon=True).start()

    def _pipe(self, client: socket.socket, server: socket.socket) -> None:
        with client, server:
            while not self._stop.is_set():
                ready, _, _ = select.select([client, server], [], [], 0.5)
                for sock in ready:
                    data = sock.recv(65_536)
                    if not data:
                        return
                    (server if sock is client else client).sendall(data)
                    with self._lock:
                        if sock is client:
                            self.up += len(data)
                        else:
                            self.down += len(data)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()


def publish_wire_bytes(topic: str, payload: int) -> int:
    """An MQTT 3.1.1 PUBLISH at QoS 1 on the wire: header, topic, packet id, payload."""
    remaining = 2 + len(topic.encode()) + 2 + payload
    varint = 1 if remaining < 128 else 2 if remaining < 16_384 else 3
    return 1 + varint + remaining


class Listener:
    """What each board published, per channel (from the broker)."""

    def __init__(self, port: int) -> None:
        self._lock = threading.Lock()
        self.messages: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.snapshots: list[dict[str, Any]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-listener")
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("fleet/v1/#", qos=0)
        self.client.loop_start()

    def _message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        parts = message.topic.split("/")
        if len(parts) < 4:
            return
        device, channel = parts[2], "/".join(parts[3:])
        wire = publish_wire_bytes(message.topic, len(message.payload))
        with self._lock:
            self.messages[(device, channel)].append(wire)
            if channel == "snapshot":
                data = json.loads(message.payload)["data"]
                self.snapshots.append(
                    {
                        "device": device,
                        "source": data.get("camera_id") or data["source"],
                        "reason": data["reason"],
                        "jpeg_bytes": len(data["jpeg"]) * 3 // 4,
                        "wire_bytes": wire,
                        "size": f"{data['width']}x{data['height']}",
                    }
                )

    def take(self) -> tuple[dict[tuple[str, str], list[int]], list[dict[str, Any]]]:
        with self._lock:
            messages, self.messages = self.messages, defaultdict(list)
            snapshots, self.snapshots = self.snapshots, []
        return messages, snapshots

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class Screen:
    """Xvfb, repainted every 2 s (a plaid of changing size and colours), or black."""

    COLOURS = ("white", "navy", "gold", "darkred", "seagreen", "orange", "grey60", "purple")

    def __init__(self, workdir: Path) -> None:
        read, write = os.pipe()
        self.proc = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write),
                "-screen",
                "0",
                f"{SCREEN[0]}x{SCREEN[1]}x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ],
            pass_fds=(write,),
            stdout=subprocess.DEVNULL,
            stderr=(workdir / "xvfb.log").open("wb"),
        )
        os.close(write)
        with os.fdopen(read) as numbers:
            number = numbers.readline().strip()
        if not number.isdigit():
            raise RuntimeError("Xvfb did not start")
        self.display = f":{number}"
        self.black = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._paint, daemon=True)
        self._thread.start()

    def _paint(self) -> None:
        step = 0
        env = {**os.environ, "DISPLAY": self.display}
        while not self._stop.is_set():
            if self.black.is_set():
                args = ["-solid", "black"]
            else:
                fg = self.COLOURS[step % len(self.COLOURS)]
                bg = self.COLOURS[(step * 3 + 1) % len(self.COLOURS)]
                size = str(2 + step % 14)
                args = ["-mod", size, str(2 + (step * 5) % 14), "-fg", fg, "-bg", bg]
            subprocess.run(["xsetroot", *args], env=env, check=False, timeout=10)
            step += 1
            self._stop.wait(2)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(15)
        self.proc.terminate()
        self.proc.wait(10)


class Cameras:
    """rtsp-server-perl with one ffmpeg encoder per camera (a live test pattern)."""

    def __init__(self, workdir: Path) -> None:
        self.port, source_port = free_port(), free_port()
        self.server = subprocess.Popen(
            [
                "rtsp-server-perl",
                f"--clientport={self.port}",
                f"--serverport={source_port}",
                "--client_listen_address=127.0.0.1",
                "--source_listen_address=127.0.0.1",
                "--loglevel=2",
            ],
            cwd=workdir,
            stdout=(workdir / "rtsp.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        self.encoders: list[subprocess.Popen[bytes]] = []
        wait_port(self.port, timeout=30)
        wait_port(source_port, timeout=30)
        deadline = time.monotonic() + 60
        for name in CAMERAS:  # one after the other: two announcing at once are refused
            progress = workdir / f"{name}.progress"
            self.encoders.append(
                subprocess.Popen(
                    [
                        *("ffmpeg", "-hide_banner", "-loglevel", "error", "-re"),
                        *("-f", "lavfi", "-i", CAMERA, "-c:v", "libx264"),
                        *("-preset", "ultrafast", "-tune", "zerolatency", "-g", "20"),
                        *("-pix_fmt", "yuv420p", "-progress", str(progress)),
                        *("-f", "rtsp", f"rtsp://127.0.0.1:{source_port}/{name}"),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=(workdir / f"{name}.log").open("wb"),
                )
            )
            while not (progress.exists() and "progress=" in progress.read_text()):
                if self.encoders[-1].poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((workdir / f"{name}.log").read_text() or "no encoder")
                time.sleep(0.1)
        from edge_agent.proof import Grabber, RtspSource  # noqa: PLC0415
        from edge_agent.proof.grab import CaptureError  # noqa: PLC0415

        for name in CAMERAS:  # and their video flows
            url = f"rtsp://127.0.0.1:{self.port}/{name}"
            while True:
                try:
                    Grabber(timeout_s=10).grab(RtspSource(url=url, shown=url))
                    break
                except CaptureError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.5)

    def close(self) -> None:
        for encoder in self.encoders:
            encoder.terminate()
        for encoder in self.encoders:
            encoder.wait(10)
        self.server.terminate()
        self.server.wait(10)


class Player:
    """The player's status file: playing, the item on air changing every ``item_s``."""

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "status.json"
        self.media = workdir / "media"
        self.media.mkdir()
        for i in range(3):
            (self.media / f"item-{i}.mp4").write_bytes(os.urandom(200_000))
        self.item_s = float(ITEM_S)
        self._stop = threading.Event()
        self.write()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def write(self) -> None:
        index = int(time.time() // self.item_s)
        started = datetime.fromtimestamp(index * self.item_s, UTC)
        status = {
            "screen_on": True,
            "player_running": True,
            "content_id": f"bien-gioi-{index % 3}",
            "content_kind": "propaganda",
            "content_path": str(self.media / f"item-{index % 3}.mp4"),
            "content_language": "vi",
            "started_at": started.isoformat(),
        }
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(status))
        os.replace(temporary, self.path)

    def _loop(self) -> None:
        while not self._stop.wait(5):
            self.write()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)


# --------------------------------------------------------------------------- the agents


def _toml(config: dict[str, Any]) -> str:
    lines: list[str] = []
    tables: list[str] = []

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return repr(v)

    for key, v in config.items():
        if isinstance(v, dict):
            tables.append(f"[{key}]")
            tables += [f"{k} = {value(x)}" for k, x in v.items()]
        elif isinstance(v, list) and v and isinstance(v[0], dict):
            for item in v:
                tables.append(f"[[{key}]]")
                tables += [f"{k} = {value(x)}" for k, x in item.items()]
        else:
            lines.append(f"{key} = {value(v)}")
    return "\n".join(lines + tables) + "\n"


@dataclass
class Agent:
    name: str
    device_id: str
    relay: Relay
    proc: subprocess.Popen[bytes]
    ps: psutil.Process
    rss_max: int = 0
    ffmpeg_hwm: dict[int, int] = field(default_factory=dict)
    ffmpeg_kind: dict[int, str] = field(default_factory=dict)
    cpu_start: float = 0.0

    def cpu(self) -> float:
        t = self.ps.cpu_times()
        return t.user + t.system + t.children_user + t.children_system

    def sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            self.rss_max = max(self.rss_max, self.ps.memory_info().rss)
            for child in self.ps.children(recursive=True):
                with contextlib.suppress(psutil.Error, OSError, ValueError, StopIteration):
                    if child.pid not in self.ffmpeg_kind:
                        argv = child.cmdline()
                        program = Path(argv[0]).name if argv else "?"
                        if program != "ffmpeg":
                            kind = f"other:{program}"  # a collector's command (ip, upsc …)
                        else:
                            kind = "screen" if "x11grab" in argv else "camera"
                        if "image2" in argv:
                            kind += "+jpeg"
                        self.ffmpeg_kind[child.pid] = kind
                    status = Path(f"/proc/{child.pid}/status").read_text()
                    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM"))
                    kib = int(hwm.split()[1])
                    self.ffmpeg_hwm[child.pid] = max(self.ffmpeg_hwm.get(child.pid, 0), kib)

    def reset(self) -> None:
        self.rss_max = 0
        self.ffmpeg_hwm.clear()
        self.ffmpeg_kind.clear()
        self.cpu_start = self.cpu()
        self.relay.reset()

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.relay.close()


def start_agent(
    name: str,
    *,
    work: Path,
    broker: Mosquitto,
    player: Player,
    cameras: Cameras,
    screen: Screen,
    factor: float,
    with_proof: bool,
    snapshot_in_s: float,
) -> Agent:
    work.mkdir(parents=True, exist_ok=True)
    relay = Relay(broker.port)
    device_id = f"lc-bench-{name}"
    spool = work / "spool.db"
    proof: dict[str, Any] = {
        "screen_interval_s": SCREEN_S / factor,
        "camera_interval_s": CAMERA_S / factor if with_proof else 0,
        "snapshot_interval_s": SNAPSHOT_S / factor,
        "daily_bytes": int(DAILY_BYTES * factor),
    }
    config = {
        "device_id": device_id,
        "mqtt_url": f"mqtt://127.0.0.1:{relay.port}",
        "spool_path": str(spool),
        "log_level": "WARNING",
        "intervals": {kind: seconds / factor for kind, seconds in READINGS.items()},
        "spool": {"delivery": "puback"},
        "display": {"status_file": str(player.path), "process_name": "signage-player"},
        "network": {"targets": [], "lte": False},
        "proof": proof,
        "capture": {
            "screen_source": "x11" if with_proof else "none",
            "x11_display": screen.display,
            "default_credentials_every_s": CREDENTIALS_S / factor if with_proof else 0,
        },
        "cameras": [
            {
                "id": camera,
                "host": "127.0.0.1",
                "rtsp_port": cameras.port,
                "rtsp_path": f"/{camera}",
            }
            for camera in CAMERAS
        ],
    }
    (work / "agent.toml").write_text(_toml(config))
    # the next interval pictures in snapshot_in_s (the state the budget keeps)
    last = time.time() - SNAPSHOT_S / factor + snapshot_in_s
    today = datetime.now().date().isoformat()  # the board's local day
    state = {"day": today, "used": 0, "last_interval": last}
    (work / "spool.db.proof.json").write_text(json.dumps(state))
    log = (work / "agent.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "--config", str(work / "agent.toml"), "run"],
        cwd=REPO,
        stdout=log,
        stderr=log,
        env={**os.environ, "DISPLAY": screen.display},
    )
    return Agent(name, device_id, relay, proc, psutil.Process(proc.pid))


# --------------------------------------------------------------------------- a phase


def _phase(
    work: Path,
    *,
    broker: Mosquitto,
    listener: Listener,
    world: tuple[Player, Cameras, Screen],
    factor: float,
    minutes: float,
    black_out: bool,
) -> dict[str, Any]:
    player, cameras, screen = world
    player.item_s = ITEM_S / factor
    player.write()
    seconds = minutes * 60
    # phase 1: no interval picture in the window; phase 2: one set in the middle
    # of every SNAPSHOT_S / factor (the default rate)
    snapshot_in = seconds + 3600 if factor == 1 else min(SNAPSHOT_S / factor, seconds) / 2 + 5
    agents = [
        start_agent(
            name,
            work=work / name,
            broker=broker,
            player=player,
            cameras=cameras,
            screen=screen,
            factor=factor,
            with_proof=proof,
            snapshot_in_s=snapshot_in,
        )
        for name, proof in (("baseline", False), ("proof", True))
    ]
    try:
        time.sleep(8)  # start-up (imports, first readings) is not the steady state
        for agent in agents:
            agent.reset()
        listener.take()
        load_before = os.getloadavg()
        t0 = time.monotonic()
        black_from = seconds * 0.6 if black_out else None
        black_for = 10 * SCREEN_S / factor
        while (elapsed := time.monotonic() - t0) < seconds:
            if black_from is not None:
                if black_from <= elapsed < black_from + black_for:
                    screen.black.set()
                else:
                    screen.black.clear()
            for agent in agents:
                agent.sample()
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
        cpu = {agent.name: agent.cpu() - agent.cpu_start for agent in agents}
        wire = {agent.name: agent.relay.reset() for agent in agents}
        load_after = os.getloadavg()
        messages, snapshots = listener.take()
    finally:
        screen.black.clear()
        for agent in agents:
            agent.stop()
    simulated_days = elapsed * factor / DAY
    per_day = 1 / simulated_days
    out: dict[str, Any] = {}
    for agent in agents:
        channels = {
            channel: {"messages": len(sizes), "bytes": sum(sizes)}
            for (device, channel), sizes in sorted(messages.items())
            if device == agent.device_id
        }
        runs: dict[str, list[int]] = defaultdict(list)
        for pid, kind in agent.ffmpeg_kind.items():
            runs[kind].append(agent.ffmpeg_hwm.get(pid, 0))
        up, down = wire[agent.name]
        out[agent.name] = {
            "cpu_percent_of_one_core": round(100 * cpu[agent.name] / elapsed, 3),
            "cpu_seconds": round(cpu[agent.name], 2),
            "agent_rss_max_mb": round(agent.rss_max / 2**20, 1),
            "ffmpeg_runs": {kind: len(hwms) for kind, hwms in sorted(runs.items())},
            "ffmpeg_rss_max_mb": {
                kind: round(max(hwms) / 1024, 1) for kind, hwms in sorted(runs.items())
            },
            "wire_bytes_up": up,
            "wire_bytes_down": down,
            "wire_bytes_per_day": round((up + down) * per_day),
            "channels": channels,
        }
    base, proof = out["baseline"], out["proof"]
    added_cpu_s = cpu["proof"] - cpu["baseline"]

    def channel_bytes(result: dict[str, Any], *names: str) -> int:
        return sum(result["channels"].get(n, {}).get("bytes", 0) for n in names)

    # the checks: what a display or camera reading of the board with proof
    # carries beyond the same reading without, times the readings of a day at
    # the default intervals (independent of how many readings the run made)
    checks = 0.0
    check_bytes: dict[str, float] = {}
    for kind in ("display", "camera"):
        with_, without = (r["channels"].get(f"telemetry/{kind}") for r in (proof, base))
        if with_ and without and with_["messages"] and without["messages"]:
            added = with_["bytes"] / with_["messages"] - without["bytes"] / without["messages"]
            check_bytes[kind] = round(added, 1)
            checks += added * DAY / READINGS[kind]
    pictures = channel_bytes(proof, "snapshot")
    proof_snapshots = [s for s in snapshots if s["device"] == agents[1].device_id]
    return {
        "factor": factor,
        "minutes": round(elapsed / 60, 2),
        "simulated_hours": round(elapsed * factor / 3600, 2),
        "load_average_1m_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
        "ratio": {
            "cpu": _ratio(proof["cpu_seconds"], base["cpu_seconds"]),
            "agent_rss": _ratio(proof["agent_rss_max_mb"], base["agent_rss_max_mb"]),
            "wire_bytes": _ratio(proof["wire_bytes_per_day"], base["wire_bytes_per_day"]),
        },
        "baseline": base,
        "proof": proof,
        "added": {
            "cpu_percent_of_one_core_at_default": round(100 * added_cpu_s * per_day / DAY, 3),
            "wire_bytes_per_day": proof["wire_bytes_per_day"] - base["wire_bytes_per_day"],
            "check_bytes_per_reading": check_bytes,
            "check_bytes_per_day": round(checks),
            "picture_bytes_per_day": round(pictures * per_day),
        },
        # did the agents keep the schedule? (a capture holds the agent's
        # reading loop up: at a high factor the board with proof falls behind)
        "pace": {
            "scheduled_per_agent": {
                kind: round(elapsed * factor / seconds) for kind, seconds in READINGS.items()
            }
            | {
                "screen_captures": round(elapsed * factor / SCREEN_S),
                "camera_captures": round(elapsed * factor / CAMERA_S) * len(CAMERAS),
            },
            "readings": {
                agent: {
                    kind: result["channels"].get(f"telemetry/{kind}", {}).get("messages", 0)
                    for kind in READINGS
                }
                for agent, result in out.items()
            },
        },
        "snapshots": proof_snapshots,
    }


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 2) if b else None


def _machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError, StopIteration):
        cpu = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    return (
        f"{platform.machine()}, {psutil.cpu_count()} cores ({cpu}), "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
        f"{_version(['ffmpeg', '-version'])}, {_version([mosquitto_binary(), '-h'])}"
    )


def _version(argv: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
        return (out.stdout or out.stderr).splitlines()[0].strip()
    return f"{argv[0]} ?"


@contextlib.contextmanager
def world(work: Path) -> Iterator[tuple[Player, Cameras, Screen]]:
    for tool in ("Xvfb", "xsetroot", "ffmpeg", "rtsp-server-perl"):
        if shutil.which(tool) is None:
            raise SystemExit(
                f"{tool} not found: install the Debian packages xvfb, x11-xserver-utils,"
                " ffmpeg, rtsp-server-perl"
            )
    work.mkdir(parents=True, exist_ok=True)
    screen = Screen(work)
    try:
        cameras = Cameras(work)
        try:
            player = Player(work)
            try:
                yield player, cameras, screen
            finally:
                player.close()
        finally:
            cameras.close()
    finally:
        screen.close()


def _bare_grab(argv: list[str]) -> tuple[float, float]:
    """One plain ffmpeg run: (CPU seconds, wall seconds)."""
    for _attempt in range(3):  # an RTSP session now and then fails to set up
        started = time.monotonic()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        errors = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.returncode == 0:
            return usage.ru_utime + usage.ru_stime, time.monotonic() - started
    raise RuntimeError(f"a bare grab failed: {' '.join(argv)}: {errors[-300:]}")


def bare_grabs(parts: tuple[Player, Cameras, Screen], times: int = 3) -> dict[str, Any]:
    """Mean CPU and wall seconds of a bare ffmpeg grab (one frame read and
    decoded, nothing written), screen and camera."""
    _, cameras, screen = parts
    tail = ["-frames:v", "1", "-f", "null", "-"]  # read and decode one frame: the floor
    base = ["ffmpeg", "-hide_banner", "-loglevel", "error"]
    argvs = {
        "screen": [*base, "-f", "x11grab", "-draw_mouse", "0", "-i", screen.display, *tail],
        "camera": [
            *base,
            *("-analyzeduration", "2000000"),  # as the agent's grab
            *("-i", f"rtsp://127.0.0.1:{cameras.port}/{CAMERAS[0]}"),
            *tail,
        ],
    }
    result: dict[str, Any] = {}
    for kind, argv in argvs.items():
        runs = [_bare_grab(argv) for _ in range(times)]
        result[kind] = {
            "cpu_s": round(sum(r[0] for r in runs) / times, 4),
            "wall_s": round(sum(r[1] for r in runs) / times, 3),
        }
    return result


def _over_bare(phase: dict[str, Any] | None, bare: dict[str, Any]) -> float | None:
    """The CPU proof added in a phase over as many bare grabs (screen, camera)."""
    if not phase:
        return None
    runs = phase["proof"]["ffmpeg_runs"]
    grabs = sum(
        count * bare["screen" if kind.startswith("screen") else "camera"]["cpu_s"]
        for kind, count in runs.items()
        if kind.startswith(("screen", "camera"))
    )
    added = phase["proof"]["cpu_seconds"] - phase["baseline"]["cpu_seconds"]
    return _ratio(added, grabs)


def run(
    work: Path, broker: Mosquitto, minutes: float, compressed: float, factor: float
) -> dict[str, Any]:
    """Both phases; the result with the ratios first, then the per-day figures."""
    listener = Listener(broker.port)
    try:
        with world(work / "world") as parts:
            bare = bare_grabs(parts)
            default = (
                _phase(
                    work / "default",
                    broker=broker,
                    listener=listener,
                    world=parts,
                    factor=1,
                    minutes=minutes,
                    black_out=False,
                )
                if minutes
                else None
            )
            scaled = (
                _phase(
                    work / "scaled",
                    broker=broker,
                    listener=listener,
                    world=parts,
                    factor=factor,
                    minutes=compressed,
                    black_out=True,
                )
                if compressed
                else None
            )
    finally:
        listener.close()
    for name, phase in (("default", default), ("compressed", scaled)):
        (work / f"proof-{name}.json").write_text(json.dumps(phase, indent=2))
    summary: dict[str, Any] = {
        "ratio_added_cpu_over_bare_grabs": {
            "default": _over_bare(default, bare),
            "compressed": _over_bare(scaled, bare),
        },
        "baseline_bare_grab": bare,
    }
    if default:
        summary["ratio_default"] = default["ratio"]  # with proof ÷ baseline, first
        summary["baseline_cpu_percent_default"] = default["baseline"]["cpu_percent_of_one_core"]
        summary["proof_cpu_percent_default"] = default["proof"]["cpu_percent_of_one_core"]
        summary["added_cpu_percent_default"] = round(
            default["proof"]["cpu_percent_of_one_core"]
            - default["baseline"]["cpu_percent_of_one_core"],
            3,
        )
        summary["agent_rss_max_mb"] = {
            "baseline": default["baseline"]["agent_rss_max_mb"],
            "proof": default["proof"]["agent_rss_max_mb"],
        }
        summary["check_bytes_per_day"] = default["added"]["check_bytes_per_day"]
        summary["added_wire_bytes_per_day_default_no_pictures"] = default["added"][
            "wire_bytes_per_day"
        ]
    if scaled:
        summary["added_cpu_percent_from_compressed"] = scaled["added"][
            "cpu_percent_of_one_core_at_default"
        ]
        interval = [s for s in scaled["snapshots"] if s["reason"] == "interval"]
        summary["interval_picture_bytes_per_day"] = (
            sum(s["wire_bytes"] for s in interval)
            * round(DAY / SNAPSHOT_S)
            // max(1, len(interval) // (1 + len(CAMERAS)))
        )
        summary["incident_pictures"] = [
            s["wire_bytes"] for s in scaled["snapshots"] if s["reason"] == "incident"
        ]
        checks = summary.get("check_bytes_per_day") or scaled["added"]["check_bytes_per_day"]
        summary["worst_case_bytes_per_day"] = checks + DAILY_BYTES
    return {
        "summary": summary,
        "default_settings": default,
        "compressed": scaled,
        "targets": {
            "added_cpu_percent": 2,
            "agent_rss_mb": 60,
            "proof_bytes_per_day": 5_000_000,
        },
        "machine": _machine(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "when": (datetime.now(UTC) - timedelta(microseconds=0)).isoformat(timespec="seconds"),
    }
