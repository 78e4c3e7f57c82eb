"""Camera proof against a real RTSP server (Debian's rtsp-server-perl) fed by
real encoders (ffmpeg ``-re -f lavfi``): a live test pattern, a black
picture, a flat grey one (a bag over the lens), a still image looped (a
frozen encoder) and another scene (the camera turned away).

The server takes the UDP ports of its sources from 20000 up, whatever it is
told (its housekeeping resets them): two such servers streaming on one
machine at once disturb each other (RECORD answered 404).

Frames are grabbed by the agent's ffmpeg as on a board; the credentials it
is given must never show: not in an argument list (``/proc/<pid>/cmdline``),
an error, a reading or a log line.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
from pydantic import SecretStr

from edge_agent.collectors.camera import (
    CameraCollector,
    _Probe,
    opens_with_default_account,
)
from edge_agent.collectors.rtsp import RtspResponse
from edge_agent.config import AgentConfig, CameraConfig, load_config
from edge_agent.proof import Grabber, Proof
from edge_agent.proof.grab import CaptureError, jpeg_size
from fleet_protocol.messages import CameraStatus
from tests.agent.collectors.test_camera import (  # noqa: F401 - the tcp_server fixture
    PASSWORD,
    PATH,
    USER,
    AuthCamera,
    TcpServer,
    tcp_server,
)
from tests.agent.proof.inline import InlineExecutor
from tests.support.rtsp_source import STILL, require_tools, rtsp_relay

SECRET = "Bien-Gioi#2026"
#: what each stream shows (an ffmpeg lavfi source; "still" is a picture looped)
SCENES = {
    "live": "testsrc=size=320x180:rate=10",
    "black": "color=c=black:size=320x180:rate=10",
    "grey": "color=c=0x8a8a8a:size=320x180:rate=10",
    "still": STILL,
    "other": "mandelbrot=size=320x180:rate=10",
}


@dataclass
class Streams:
    port: int


@pytest.fixture(scope="module")
def streams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Streams]:
    try:
        require_tools()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    with rtsp_relay(tmp_path_factory.mktemp("streams")) as relay:
        for name, scene in SCENES.items():  # one encoder after the other
            relay.show(name, scene)
        relay.wait_video(SCENES)  # and its video flows: only then may clients come
        yield Streams(relay.port)


def camera(port: int, name: str, **changes: Any) -> CameraConfig:
    values: dict[str, Any] = {
        "id": name,
        "host": "127.0.0.1",
        "rtsp_port": port,
        "rtsp_path": f"/{name}",
        "timeout_s": 3.0,
    }
    values.update(changes)
    return CameraConfig(**values)


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def board(tmp_path: Path, cameras: list[CameraConfig], **proof: Any) -> AgentConfig:
    return load_config(
        None,
        device_id="lc-mlt-01",
        spool_path=tmp_path / "spool.db",
        cameras=[c.model_dump() for c in cameras],
        capture={"timeout_s": 8},
        proof={"frozen_after": 2, "snapshot_interval_s": 0, **proof},
    )


def test_black_covered_frozen_and_moved_cameras(streams: Streams, tmp_path: Path) -> None:
    cameras = [camera(streams.port, name) for name in SCENES]
    holder = {"config": board(tmp_path, cameras)}
    ticks = Ticks()
    proof = Proof(lambda: holder["config"], monotonic=ticks, executor=InlineExecutor())
    collector = CameraCollector(
        cameras, max_parallel=5, proof=proof, default_accounts=[("admin", "admin")]
    )

    first = {s.camera_id: s for s in collector.collect().cameras}
    for status in first.values():
        assert status.picture_error is None, status.picture_error
        assert status.picture is not None
        # the relay hands on the encoder's SDP: "a=tool:libavformat …"
        assert (status.firmware or "").startswith("libavformat")
        assert status.default_credentials is True  # the stream asks for no account at all
    pictures = {name: status.picture for name, status in first.items()}
    assert pictures["live"] is not None
    assert (pictures["live"].black, pictures["live"].covered) == (False, False)
    assert pictures["black"] is not None
    assert (pictures["black"].black, pictures["black"].covered) == (True, False)
    assert pictures["grey"] is not None
    assert (pictures["grey"].black, pictures["grey"].covered) == (False, True)
    assert pictures["still"] is not None
    assert (pictures["still"].frozen, pictures["still"].same_count) == (False, 1)
    assert sorted(proof.owed()) == ["black", "grey"]
    taken = sorted(proof.due_pictures(), key=lambda p: p.camera_id or "")
    assert [(p.source, p.camera_id, p.reason) for p in taken] == [
        ("camera", "black", "incident"),
        ("camera", "grey", "incident"),
    ]
    assert [(p.width, p.height) for p in taken] == [(320, 180), (320, 180)]  # never upscaled
    assert all(jpeg_size(p.jpeg) == (320, 180) for p in taken)

    # the operator sets the live scene as the reference of "live" and "other"
    reference = pictures["live"].phash
    holder["config"] = board(
        tmp_path, cameras, camera_references={"live": reference, "other": reference}
    )
    ticks.now += holder["config"].proof.camera_interval_s
    second = {s.camera_id: s.picture for s in collector.collect().cameras}
    live, still, other = second["live"], second["still"], second["other"]
    assert live is not None
    assert still is not None
    assert other is not None
    assert (live.frozen, live.moved) == (False, False)  # the test pattern moves
    assert live.reference_distance is not None
    assert live.reference_distance <= 20
    assert (still.frozen, still.same_count) == (True, 2)
    assert other.moved is True
    assert sorted(proof.owed()) == ["other", "still"]

    # between two grabs the last picture is reported again, not grabbed
    third = {s.camera_id: s.picture for s in collector.collect().cameras}
    assert third["still"] == still


def test_credentials_never_show(
    streams: Streams, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    missing = camera(streams.port, "nowhere", username="bdbp", password=SecretStr(SECRET))
    config = board(tmp_path, [missing])
    proof = Proof(lambda: config, executor=InlineExecutor())
    status = CameraStatus(camera_id="nowhere", reachable=True, rtsp_answered=True, status="ok")
    checked = proof.camera(missing, status)
    assert checked.picture is None
    error = checked.picture_error or ""
    assert error.startswith(f"rtsp://127.0.0.1:{streams.port}/nowhere: ")
    assert "404" in error
    assert "Bien" not in error
    assert "bdbp" not in error
    assert all("Bien" not in arg for arg in proof.grabber.last_argv)

    # a camera that accepts and never answers: ffmpeg waits, its argv is public
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    hung = camera(silent.getsockname()[1], "hung", username="bdbp", password=SECRET)
    grabber = Grabber(timeout_s=3)
    failure: list[str] = []
    thread = threading.Thread(
        target=lambda: _grab_failure(grabber, proof, hung, failure), daemon=True
    )
    thread.start()
    seen = _ffmpeg_command_lines(thread)
    thread.join(10)
    silent.close()
    assert seen, "ffmpeg was never seen running"
    assert not [line for line in seen if "Bien" in line or "bdbp" in line]
    assert failure == [f"rtsp://127.0.0.1:{hung.rtsp_port}/hung: no picture within 3s"]
    assert "Bien" not in caplog.text


def _grab_failure(grabber: Grabber, proof: Proof, cfg: CameraConfig, out: list[str]) -> None:
    try:
        grabber.grab(proof.camera_source(cfg))
    except CaptureError as exc:
        out.append(str(exc))


def _ffmpeg_command_lines(thread: threading.Thread) -> list[str]:
    """Every ffmpeg command line visible while ``thread`` runs (as ``ps`` shows them)."""
    lines: set[str] = set()
    while thread.is_alive():
        for process in psutil.process_iter(["name", "cmdline"]):
            if process.info["name"] == "ffmpeg" and "concat" in (process.info["cmdline"] or []):
                lines.add(" ".join(process.info["cmdline"]))
        time.sleep(0.05)
    return sorted(lines)


def test_default_accounts(
    tcp_server: Callable[..., TcpServer],  # noqa: F811 - the fixture imported above
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    responder = AuthCamera()
    server = tcp_server(responder.handle)
    cfg = CameraConfig(id="gate", host="127.0.0.1", rtsp_port=server.port, rtsp_path=PATH)
    # the maker's account still works
    assert opens_with_default_account(cfg, [("admin", "admin"), (USER, PASSWORD)]) is True
    # every default account refused (each try answers the camera's latest challenge)
    responder.seen = []
    assert opens_with_default_account(cfg, [("admin", "admin"), ("admin", "12345")]) is False
    assert len(responder.seen) == 2
    # the configured account is itself a default one: the finding, without a try
    configured = cfg.model_copy(
        update={"username": "admin", "password": SecretStr("12345"), "rtsp_port": 9}
    )
    assert opens_with_default_account(configured, [("admin", "12345")]) is True
    # nobody answers: cannot tell
    assert opens_with_default_account(cfg.model_copy(update={"rtsp_port": 9}), [("a", "b")]) is None
    assert PASSWORD not in caplog.text
    assert "12345" not in caplog.text


def test_firmware_from_the_server_header_or_the_sdp_tool() -> None:
    probe = _Probe("gate", "rtsp://10.0.0.5:554/")
    probe.heard(RtspResponse(200, "OK", [("server", "Hikvision-Webs\x07")]))
    probe.heard(RtspResponse(200, "OK", [("server", "later answers do not count")]))
    assert probe.status("ok").firmware == "Hikvision-Webs\ufffd"
    sdp = _Probe("gate", "rtsp://10.0.0.5:554/")
    sdp.heard(RtspResponse(200, "OK", [], b"v=0\r\na=tool:LIVE555 Streaming Media v2016\r\n"))
    assert sdp.status("ok").firmware == "LIVE555 Streaming Media v2016"
