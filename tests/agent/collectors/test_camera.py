"""Cameras: the RTSP probe against a real RTSP server, misbehaving peers, authentication, ONVIF.

The real server is Debian's ``rtsp-server-perl`` (RTSP::Server), fed an SDP
the way an encoder publishes one (ANNOUNCE on its source port). It cannot
demand credentials, so the 401/Basic/Digest paths run against a small RTSP
responder written here, which checks the Digest answer with its own code.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import re
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

import fleet_protocol as fp
from edge_agent.collectors.camera import (
    CameraCollector,
    SimulatedCameraCollector,
    display_url,
    probe_camera,
)
from edge_agent.collectors.rtsp import authorization, digest_response, parse_challenges
from edge_agent.config import CameraConfig
from edge_agent.errors import NotPresent
from edge_agent.simulation import SimulatedBoard
from fleet_protocol.messages import CameraData
from tests.support.clock import Clock
from tests.support.ports import free_port, wait_port

SDP = (
    "v=0\r\no=- 1700000000 1 IN IP4 127.0.0.1\r\ns=Ma Lu Thang gate cam 1\r\n"
    "c=IN IP4 0.0.0.0\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\n"
    "a=rtpmap:96 H264/90000\r\na=control:streamid=0\r\n"
)
USER = "bdbp-lc-01"
PASSWORD = "Bien-Gioi#2026"


def camera(port: int, path: str = "/cam1", **changes: Any) -> CameraConfig:
    values: dict[str, Any] = {
        "id": "cam1",
        "host": "127.0.0.1",
        "rtsp_port": port,
        "rtsp_path": path,
        "timeout_s": 2.0,
    }
    values.update(changes)
    return CameraConfig(**values)


def read_message(conn: socket.socket) -> tuple[str, dict[str, str]] | None:
    """One RTSP request or response head: (first line, lower-cased headers)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode()
    first, *lines = head.split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return first, headers


# --------------------------------------------------------------------------- the real server


@dataclass
class RtspServer:
    port: int
    source_port: int


def announce(port: int, path: str) -> socket.socket:
    """Publish SDP for ``path`` as an encoder does; the connection stays open while streaming."""
    publisher = socket.create_connection(("127.0.0.1", port), timeout=10)
    publisher.sendall(
        (
            f"ANNOUNCE rtsp://127.0.0.1:{port}{path} RTSP/1.0\r\nCSeq: 1\r\n"
            f"Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n{SDP}"
        ).encode()
    )
    answer = read_message(publisher)
    assert answer is not None
    assert answer[0] == "RTSP/1.0 200 OK", answer
    return publisher


@pytest.fixture(scope="module")
def rtsp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RtspServer]:
    executable = shutil.which("rtsp-server-perl")
    if executable is None:
        pytest.fail("rtsp-server-perl not found: install the Debian package rtsp-server-perl")
    workdir = tmp_path_factory.mktemp("rtsp")
    client_port, source_port = free_port(), free_port()
    with open(workdir / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [
                executable,
                f"--clientport={client_port}",
                f"--serverport={source_port}",
                "--client_listen_address=127.0.0.1",
                "--source_listen_address=127.0.0.1",
                "--loglevel=4",
            ],
            cwd=workdir,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_port(client_port, timeout=30)
        wait_port(source_port, timeout=30)
        publisher = announce(source_port, "/cam1")
        yield RtspServer(client_port, source_port)
        publisher.close()
    finally:
        proc.terminate()
        proc.wait(10)


def test_real_server_stream_ok(rtsp_server: RtspServer) -> None:
    status = probe_camera(camera(rtsp_server.port))
    assert (status.camera_id, status.status, status.reachable, status.rtsp_answered) == (
        "cam1",
        "ok",
        True,
        True,
    )
    assert status.error is None
    assert status.latency_ms is not None
    assert 0 <= status.latency_ms < 2000


def test_real_server_stream_missing(rtsp_server: RtspServer) -> None:
    status = probe_camera(camera(rtsp_server.port, "/Streaming/Channels/102"))
    assert (status.status, status.reachable, status.rtsp_answered) == ("stream_missing", True, True)
    assert status.error == (
        f"DESCRIBE rtsp://127.0.0.1:{rtsp_server.port}/Streaming/Channels/102: 404 Not Found"
    )


def test_query_tokens_never_reach_the_error(rtsp_server: RtspServer) -> None:
    status = probe_camera(camera(rtsp_server.port, f"/nope?user={USER}&password={PASSWORD}"))
    assert status.status == "stream_missing"
    assert status.error is not None
    assert PASSWORD not in status.error
    assert USER not in status.error


def test_credentials_unused_when_not_asked(rtsp_server: RtspServer) -> None:
    cfg = camera(rtsp_server.port, username=USER, password=SecretStr(PASSWORD))
    assert probe_camera(cfg).status == "ok"


# --------------------------------------------------------------------------- misbehaving peers


class TcpServer:
    """Accepts on 127.0.0.1 and hands each connection to ``handle`` on its own thread."""

    def __init__(self, handle: Callable[[socket.socket, threading.Event], None]) -> None:
        self.release = threading.Event()
        self.connections = 0
        self._handle = handle
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            self._handle(conn, self.release)

    def close(self) -> None:
        self.release.set()
        self._sock.shutdown(socket.SHUT_RDWR)
        self._sock.close()
        self._thread.join(5)


@pytest.fixture
def tcp_server() -> Iterator[
    Callable[[Callable[[socket.socket, threading.Event], None]], TcpServer]
]:
    servers: list[TcpServer] = []

    def start(handle: Callable[[socket.socket, threading.Event], None]) -> TcpServer:
        servers.append(TcpServer(handle))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def never_answers(conn: socket.socket, release: threading.Event) -> None:
    release.wait(30)


def closes_at_once(conn: socket.socket, release: threading.Event) -> None:
    pass


def ssh_banner(conn: socket.socket, release: threading.Event) -> None:
    conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    release.wait(30)


def http_answer(conn: socket.socket, release: threading.Event) -> None:
    read_message(conn)
    conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    release.wait(30)


def control_bytes_answer(conn: socket.socket, release: threading.Event) -> None:
    read_message(conn)
    conn.sendall(b"RTSP/1.0 \x00\x01\x1b[31m\x7f\r\n\r\n")
    release.wait(30)


def test_control_characters_in_an_answer_never_reach_the_wire(
    tcp_server: Callable[..., TcpServer],
) -> None:
    """A camera's answer is outside text: what the agent reports must be a
    reading the protocol accepts, whatever bytes the camera sent."""
    server = tcp_server(control_bytes_answer)
    status = probe_camera(camera(server.port))
    assert status.status == "bad_response"
    data = CameraData(cameras=[status])
    assert fp.encode(
        fp.CameraMessage(
            schema_version=1,
            device_id="lc-t-01",
            boot=1,
            seq=1,
            measured_at=datetime(2026, 12, 1, tzinfo=UTC),
            sent_at=datetime(2026, 12, 1, tzinfo=UTC),
            data=data,
        )
    )


def test_refused(tmp_path: Path) -> None:
    port = free_port()
    status = probe_camera(camera(port))
    assert (status.status, status.reachable, status.rtsp_answered) == ("refused", True, False)
    assert status.error == f"rtsp://127.0.0.1:{port}/cam1: connection refused"


def test_never_answers_is_a_timeout(tcp_server: Callable[..., TcpServer]) -> None:
    server = tcp_server(never_answers)
    started = time.monotonic()
    status = probe_camera(camera(server.port, timeout_s=0.5))
    assert time.monotonic() - started < 2.0
    assert (status.status, status.reachable, status.rtsp_answered) == ("timeout", True, False)
    assert status.latency_ms is None


def test_closing_at_once_is_a_bad_response(tcp_server: Callable[..., TcpServer]) -> None:
    """Accepting TCP and closing without a status line: the port does not speak RTSP."""
    server = tcp_server(closes_at_once)
    status = probe_camera(camera(server.port))
    assert (status.status, status.reachable, status.rtsp_answered) == ("bad_response", True, False)
    assert status.error is not None
    assert "closed before an RTSP answer" in status.error


@pytest.mark.parametrize(
    ("handle", "shown"),
    [(ssh_banner, "SSH-2.0-OpenSSH"), (http_answer, "HTTP/1.1 400")],
    ids=["ssh", "http"],
)
def test_garbage_is_a_bad_response(
    tcp_server: Callable[..., TcpServer],
    handle: Callable[[socket.socket, threading.Event], None],
    shown: str,
) -> None:
    server = tcp_server(handle)
    started = time.monotonic()
    status = probe_camera(camera(server.port, timeout_s=5.0))
    assert time.monotonic() - started < 2.0  # decided at the first bytes, not at the deadline
    assert (status.status, status.rtsp_answered) == ("bad_response", False)
    assert status.error is not None
    assert shown in status.error


def describe_answers(status_line: str, body: str = "") -> Callable[..., None]:
    """An RTSP server answering OPTIONS with 200 and DESCRIBE with ``status_line``."""

    def handle(conn: socket.socket, release: threading.Event) -> None:
        while (message := read_message(conn)) is not None:
            cseq = message[1].get("cseq", "0")
            line = "RTSP/1.0 200 OK" if message[0].startswith("OPTIONS") else status_line
            length = f"Content-Length: {len(body)}\r\n" if body else ""
            conn.sendall(f"{line}\r\nCSeq: {cseq}\r\n{length}\r\n{body}".encode())

    return handle


@pytest.mark.parametrize(
    ("status_line", "body", "state", "error"),
    [
        ("RTSP/1.0 403 Forbidden", "", "unauthorized", "access forbidden (403 Forbidden)"),
        ("RTSP/1.0 454 Session Not Found", "", "stream_missing", "454 Session Not Found"),
        ("RTSP/1.0 503 Service Unavailable", "", "error", "503 Service Unavailable"),
        ("RTSP/1.0 200 OK", "", "error", "200 without an SDP description"),
        ("RTSP/1.0 200 OK", "<html>login</html>", "error", "200 without an SDP description"),
    ],
    ids=["403", "454", "503", "200-empty", "200-html"],
)
def test_describe_answers(
    tcp_server: Callable[..., TcpServer], status_line: str, body: str, state: str, error: str
) -> None:
    server = tcp_server(describe_answers(status_line, body))
    status = probe_camera(camera(server.port))
    assert (status.status, status.reachable, status.rtsp_answered) == (state, True, True)
    assert status.error is not None
    assert status.error.endswith(error)


def test_bad_host_is_an_error_without_userinfo() -> None:
    # A label over 63 characters fails before any DNS query leaves the machine.
    host = f"{USER}:{PASSWORD}@{'x' * 64}.invalid"
    status = probe_camera(camera(554, host=host, timeout_s=1.0))
    assert (status.status, status.reachable) == ("error", False)
    assert status.error == f"rtsp://{'x' * 64}.invalid:554/cam1: not a valid host name"


# --------------------------------------------------------------------------- authentication


REALM = "IP Camera(C4211)"
PATH = "/Streaming/Channels/101"


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _params(header: str) -> dict[str, str]:
    return {k: v.strip('"') for k, v in re.findall(r'(\w+)=("[^"]*"|[^,\s]*)', header)}


@dataclass
class AuthCamera:
    """An RTSP camera that wants credentials: Digest (optionally qop=auth) or Basic."""

    scheme: str = "digest"
    close_after_401: bool = False
    nonce: str = "4f3a7c2e9b1d"
    seen: list[str] | None = None

    def handle(self, conn: socket.socket, release: threading.Event) -> None:
        self.seen = self.seen if self.seen is not None else []
        while (message := read_message(conn)) is not None:
            request, headers = message
            method, uri, _ = request.split(" ")
            reply = f"CSeq: {headers.get('cseq', '0')}\r\n"
            if method == "OPTIONS":
                conn.sendall(
                    f"RTSP/1.0 200 OK\r\n{reply}Public: OPTIONS, DESCRIBE\r\n\r\n".encode()
                )
                continue
            given = headers.get("authorization")
            if given:
                self.seen.append(given)
            if not (given and self.accepts(given, method, uri)):
                conn.sendall(f"RTSP/1.0 401 Unauthorized\r\n{reply}{self.challenge()}\r\n".encode())
                if self.close_after_401:
                    return
                continue
            if not uri.endswith(PATH):
                conn.sendall(f"RTSP/1.0 404 Stream Not Found\r\n{reply}\r\n".encode())
                continue
            conn.sendall(
                f"RTSP/1.0 200 OK\r\n{reply}Content-Type: application/sdp\r\n"
                f"Content-Length: {len(SDP)}\r\n\r\n{SDP}".encode()
            )

    def challenge(self) -> str:
        basic = f'WWW-Authenticate: Basic realm="{REALM}"\r\n'
        if self.scheme == "basic":
            return basic
        qop = ', qop="auth"' if self.scheme == "digest-qop" else ""
        return f'WWW-Authenticate: Digest realm="{REALM}", nonce="{self.nonce}"{qop}\r\n' + basic

    def accepts(self, given: str, method: str, uri: str) -> bool:
        if self.scheme == "basic":
            return given == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        if not given.startswith("Digest "):
            return False
        p = _params(given)
        if (p.get("username"), p.get("realm"), p.get("nonce"), p.get("uri")) != (
            USER,
            REALM,
            self.nonce,
            uri,
        ):
            return False
        ha1, ha2 = _md5(f"{USER}:{REALM}:{PASSWORD}"), _md5(f"{method}:{uri}")
        if self.scheme == "digest-qop":
            expected = _md5(f"{ha1}:{self.nonce}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{self.nonce}:{ha2}")
        return p.get("response") == expected


def auth_camera(
    tcp_server: Callable[..., TcpServer], **options: Any
) -> tuple[AuthCamera, TcpServer]:
    responder = AuthCamera(**options)
    return responder, tcp_server(responder.handle)


def with_credentials(port: int, password: str = PASSWORD) -> CameraConfig:
    return camera(port, PATH, username=USER, password=SecretStr(password))


def test_401_without_credentials_is_alive(tcp_server: Callable[..., TcpServer]) -> None:
    _, server = auth_camera(tcp_server)
    status = probe_camera(camera(server.port, PATH))
    assert (status.status, status.reachable, status.rtsp_answered) == ("unauthorized", True, True)
    assert status.latency_ms is not None


@pytest.mark.parametrize(
    "options",
    [
        {"scheme": "digest"},
        {"scheme": "digest-qop"},
        {"scheme": "basic"},
        {"scheme": "digest", "close_after_401": True},
    ],
    ids=["digest", "digest-qop", "basic", "closes-after-401"],
)
def test_credentials_accepted(
    tcp_server: Callable[..., TcpServer], options: dict[str, Any]
) -> None:
    responder, server = auth_camera(tcp_server, **options)
    status = probe_camera(with_credentials(server.port))
    assert (status.status, status.error) == ("ok", None)
    assert responder.seen
    assert len(responder.seen) == 1
    expected_scheme = "Basic " if options["scheme"] == "basic" else "Digest "
    assert responder.seen[0].startswith(expected_scheme)  # Digest preferred when offered
    assert server.connections == (2 if options.get("close_after_401") else 1)


def test_credentials_refused(
    tcp_server: Callable[..., TcpServer], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    _, server = auth_camera(tcp_server)
    status = probe_camera(with_credentials(server.port, password="wrong-" + PASSWORD))
    assert (status.status, status.reachable, status.rtsp_answered) == ("unauthorized", True, True)
    assert status.error == "credentials refused (401 Unauthorized)"
    assert PASSWORD not in caplog.text
    assert USER not in caplog.text


def test_missing_stream_behind_authentication(tcp_server: Callable[..., TcpServer]) -> None:
    _, server = auth_camera(tcp_server)
    cfg = camera(
        server.port, "/Streaming/Channels/102", username=USER, password=SecretStr(PASSWORD)
    )
    status = probe_camera(cfg)
    assert status.status == "stream_missing"
    assert (
        status.error
        == f"DESCRIBE rtsp://127.0.0.1:{server.port}/Streaming/Channels/102: 404 Stream Not Found"
    )


def test_rfc2617_digest_example() -> None:
    """The worked example of RFC 2617 §3.5."""
    assert (
        digest_response(
            "Mufasa",
            "testrealm@host.com",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        == "6629fae49393a05397450978507c4ef1"
    )


def test_parse_challenges_in_one_header() -> None:
    value = 'Digest realm="cam, main", nonce="a\\"b", stale=FALSE, Basic realm="cam"'
    assert parse_challenges(value) == [
        ("digest", {"realm": "cam, main", "nonce": 'a"b', "stale": "FALSE"}),
        ("basic", {"realm": "cam"}),
    ]


def test_unsupported_scheme_gives_no_header() -> None:
    assert authorization(['Bearer realm="x"'], USER, PASSWORD, "DESCRIBE", "rtsp://x/") is None
    sha = 'Digest realm="x", nonce="n", algorithm=SHA-256'
    assert authorization([sha], USER, PASSWORD, "DESCRIBE", "rtsp://x/") is None


def test_display_url() -> None:
    assert display_url("10.0.0.5", 554, "Streaming/Channels/101?token=abc") == (
        "rtsp://10.0.0.5:554/Streaming/Channels/101"
    )
    assert display_url("fe80::1", 554, "/s") == "rtsp://[fe80::1]:554/s"
    assert display_url("admin:pw@10.0.0.5", 554, "/s") == "rtsp://10.0.0.5:554/s"


# --------------------------------------------------------------------------- ONVIF


class _OnvifHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        self.server.requests.append((self.path, self.headers["Content-Type"], body))  # type: ignore[attr-defined]
        code = self.server.code  # type: ignore[attr-defined]
        answer = (
            b'<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
            b"<s:Body><tds:GetSystemDateAndTimeResponse "
            b'xmlns:tds="http://www.onvif.org/ver10/device/wsdl"/></s:Body></s:Envelope>'
        )
        self.send_response(code)
        self.send_header("Content-Type", "application/soap+xml")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def onvif() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _OnvifHandler)
    server.requests = []  # type: ignore[attr-defined]
    server.code = 200  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_onvif_answers(rtsp_server: RtspServer, onvif: ThreadingHTTPServer) -> None:
    status = probe_camera(camera(rtsp_server.port, onvif_port=onvif.server_address[1]))
    assert (status.status, status.error) == ("ok", None)
    path, content_type, body = onvif.requests[0]  # type: ignore[attr-defined]
    assert path == "/onvif/device_service"
    assert "GetSystemDateAndTime" in content_type
    assert b"<GetSystemDateAndTime" in body


def test_onvif_failure_is_reported_without_changing_status(
    rtsp_server: RtspServer, onvif: ThreadingHTTPServer
) -> None:
    onvif.code = 500  # type: ignore[attr-defined]
    port = onvif.server_address[1]
    status = probe_camera(camera(rtsp_server.port, onvif_port=port))
    assert (status.status, status.error) == (
        "ok",
        f"onvif :{port}: GetSystemDateAndTime answered HTTP 500",
    )
    refused = free_port()
    status = probe_camera(camera(rtsp_server.port, "/gone", onvif_port=refused))
    assert status.status == "stream_missing"
    assert status.error is not None
    assert status.error.endswith(f"404 Not Found; onvif :{refused}: connection refused")


# --------------------------------------------------------------------------- collectors


def test_collector_reports_every_camera_in_order(rtsp_server: RtspServer) -> None:
    cameras = [
        camera(rtsp_server.port, id="gate-north"),
        camera(free_port(), id="gate-south"),
        camera(rtsp_server.port, "/missing", id="parking"),
    ]
    data = CameraCollector(cameras).collect()
    assert [(c.camera_id, c.status) for c in data.cameras] == [
        ("gate-north", "ok"),
        ("gate-south", "refused"),
        ("parking", "stream_missing"),
    ]


def test_collector_without_cameras_is_not_present() -> None:
    with pytest.raises(NotPresent):
        CameraCollector([]).collect()


def test_simulated_cameras_follow_the_board() -> None:
    clock = Clock()
    board = SimulatedBoard(clock=clock.monotonic, cameras={"cam1": True, "cam2": True})
    collector = SimulatedCameraCollector(board)
    assert [c.status for c in collector.collect().cameras] == ["ok", "ok"]

    board.cameras["cam2"] = False
    clock.advance(60)
    cam1, cam2 = collector.collect().cameras
    assert (cam1.status, cam1.rtsp_answered) == ("ok", True)
    assert (cam2.camera_id, cam2.status, cam2.reachable, cam2.rtsp_answered) == (
        "cam2",
        "timeout",
        False,
        False,
    )
