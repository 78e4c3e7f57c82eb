"""Cameras: does each surveillance camera answer RTSP and offer its stream?

The probe speaks RTSP (RFC 2326) over a plain socket: ``OPTIONS`` to see
that an RTSP server answers, then ``DESCRIBE`` (``Accept: application/sdp``)
to see that the configured stream exists. Credentials stay on the board
(Điều 13.1.b): they go only into an ``Authorization`` header (Basic or
Digest, RFC 2617), never into a URL, a log line or a reading.

What the camera says about itself goes into ``firmware``: the ``Server:``
header of its RTSP answers (``Hikvision-Webs``, ``Dahua Rtsp Server``,
``GStreamer RTSP server`` …), or the SDP's ``a=tool:`` line when it sends no
such header; nothing else is read (ONVIF's GetDeviceInformation needs the
camera's credentials over HTTP, which the board does not send).

Statuses: ok (200 with SDP); unauthorized (401/403 — the camera is alive;
with credentials configured it means they were refused); stream_missing
(404/410/454); timeout (no TCP connect or no answer in time); refused (TCP
connection refused); bad_response (the port speaks something other than
RTSP, or closes without answering); error (anything else).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

from edge_agent.collectors.base import Collector
from edge_agent.collectors.rtsp import (
    BadResponse,
    NoAnswer,
    RtspConnection,
    RtspResponse,
    authorization,
)
from edge_agent.config import CameraConfig
from edge_agent.errors import NotPresent
from edge_agent.proof import Proof
from edge_agent.redact import redact
from edge_agent.simulation import SimulatedBoard
from fleet_protocol import TelemetryKind, printable
from fleet_protocol.bounds import MAX_DELAY_MS
from fleet_protocol.messages import CameraData, CameraPicture, CameraState, CameraStatus

log = logging.getLogger(__name__)

_MISSING = frozenset({404, 410, 454})
_DENIED = frozenset({401, 403})
_MAX_ERROR = 500


def stream_url(host: str, port: int, path: str) -> str:
    """The request URL: ``rtsp://host:port/path`` (IPv6 literals bracketed, never userinfo)."""
    host = host.strip("[]")
    path = path if path.startswith("/") else f"/{path}"
    # A host with userinfo is misconfigured (and shown redacted); it is not an IPv6 literal.
    ipv6 = ":" in host and "@" not in host
    return f"rtsp://{f'[{host}]' if ipv6 else host}:{port}{path}"


def display_url(host: str, port: int, path: str) -> str:
    """The stream URL as it may be shown: no userinfo, no query (some cameras put tokens there)."""
    return redact(stream_url(host, port, path).split("?", 1)[0])


@dataclass
class _Probe:
    """What one probe learned so far; turned into a CameraStatus at the end."""

    camera_id: str
    shown: str
    reachable: bool = False
    answered: bool = False
    latency_ms: float | None = None
    firmware: str | None = None

    def heard(self, response: RtspResponse) -> None:
        """Note what the camera says about itself (the first answer that says it)."""
        if self.firmware is None:
            said = response.header("server") or _sdp_tool(response.body)
            if said:
                self.firmware = printable(said.strip()[:64]) or None

    def status(self, state: CameraState, error: str | None = None) -> CameraStatus:
        return CameraStatus(
            camera_id=self.camera_id,
            reachable=self.reachable,
            rtsp_answered=self.answered,
            status=state,
            latency_ms=None if self.latency_ms is None else min(self.latency_ms, MAX_DELAY_MS),
            # a camera's answer is outside text: no control character may reach the wire
            error=printable(redact(error)[:_MAX_ERROR], free=True) if error else None,
            firmware=self.firmware,
        )


def _sdp_tool(body: bytes) -> str | None:
    for line in body.decode("latin-1").splitlines():
        if line.startswith("a=tool:"):
            return line[len("a=tool:") :]
    return None


def probe_camera(cfg: CameraConfig, clock: Callable[[], float] = time.monotonic) -> CameraStatus:
    """One RTSP check of one camera, bounded by a few ``cfg.timeout_s`` at most."""
    shown = display_url(cfg.host, cfg.rtsp_port, cfg.rtsp_path)
    host = cfg.host.strip("[]")
    url = stream_url(host, cfg.rtsp_port, cfg.rtsp_path)
    probe = _Probe(cfg.id, shown)
    conn = RtspConnection(host, cfg.rtsp_port, cfg.timeout_s, clock)
    try:
        result = _converse(conn, cfg, url, probe)
    except ConnectionRefusedError:
        probe.reachable = True  # the host itself answered with a reset
        result = probe.status("refused", f"{shown}: connection refused")
    except (TimeoutError, NoAnswer) as exc:
        result = probe.status("timeout", f"{shown}: {_timeout_text(exc, probe, cfg.timeout_s)}")
    except BadResponse as exc:
        result = probe.status("bad_response", f"{shown}: {exc}")
    except socket.gaierror as exc:
        result = probe.status("error", f"{shown}: cannot resolve host ({exc.strerror})")
    except ValueError:  # UnicodeError included: not a host name at all (a label too long …)
        result = probe.status("error", f"{shown}: not a valid host name")
    except OSError as exc:
        result = probe.status("error", f"{shown}: {exc.strerror or exc}")
    finally:
        conn.close()
    if result.status != "ok":
        log.info("camera %s %s: %s", cfg.id, result.status, result.error)
    if cfg.onvif_port is not None:
        onvif_error = onvif_check(host, cfg.onvif_port, cfg.timeout_s, clock)
        if onvif_error:
            joined = "; ".join(e for e in (result.error, onvif_error) if e)
            result = result.model_copy(
                update={"error": printable(redact(joined)[:_MAX_ERROR], free=True)}
            )
    return result


def _timeout_text(exc: Exception, probe: _Probe, timeout_s: float) -> str:
    if not probe.reachable:
        return f"no TCP connection within {timeout_s:g}s"
    return str(exc) or f"no answer within {timeout_s:g}s"


def _converse(conn: RtspConnection, cfg: CameraConfig, url: str, probe: _Probe) -> CameraStatus:
    conn.connect()
    probe.reachable = True
    options = conn.request("OPTIONS", url)  # any RTSP status line proves the server is alive
    probe.answered = True
    probe.latency_ms = conn.first_answer_ms
    probe.heard(options)
    describe = conn.request("DESCRIBE", url, {"Accept": "application/sdp"})
    probe.heard(describe)
    if describe.code == 401 and cfg.username is not None:
        return _with_credentials(conn, cfg, url, describe, probe)
    if describe.code == 401:
        return probe.status("unauthorized", "camera requires credentials; none configured")
    if describe.code == 403:  # an IP allow-list or a locked account: no challenge to answer
        return probe.status("unauthorized", f"access forbidden ({describe.code} {describe.reason})")
    return _classify(describe, probe)


def _with_credentials(
    conn: RtspConnection, cfg: CameraConfig, url: str, challenge: RtspResponse, probe: _Probe
) -> CameraStatus:
    password = cfg.password.get_secret_value() if cfg.password else ""
    response = challenge
    for _ in range(2):  # a second round only for a Digest "stale nonce"
        header = authorization(
            response.all("www-authenticate"), cfg.username or "", password, "DESCRIBE", url
        )
        if header is None:
            schemes = ", ".join(v.split(" ", 1)[0] for v in response.all("www-authenticate"))
            return probe.status("unauthorized", f"unsupported authentication ({schemes or 'none'})")
        response = conn.request("DESCRIBE", url, {"Accept": "application/sdp", **header})
        probe.heard(response)
        if response.code not in _DENIED:
            return _classify(response, probe)
        if "stale=true" not in " ".join(response.all("www-authenticate")).lower():
            break
    return probe.status("unauthorized", f"credentials refused ({response.code} {response.reason})")


def _classify(describe: RtspResponse, probe: _Probe) -> CameraStatus:
    code, reason = describe.code, describe.reason
    if code == 200:
        if describe.body.lstrip().startswith(b"v="):  # an SDP session description
            return probe.status("ok")
        return probe.status("error", f"DESCRIBE {probe.shown}: 200 without an SDP description")
    if code in _MISSING:
        return probe.status("stream_missing", f"DESCRIBE {probe.shown}: {code} {reason}")
    return probe.status("error", f"DESCRIBE {probe.shown}: {code} {reason}")


# --------------------------------------------------------------------------- default accounts


def opens_with_default_account(
    cfg: CameraConfig,
    accounts: list[tuple[str, str]],
    clock: Callable[[], float] = time.monotonic,
) -> bool | None:
    """Whether the maker's default accounts still open this camera's stream
    (QCVN 135:2024): True when one does (or the stream asks for none at
    all: then anyone opens it), False when every one is refused, None when
    the camera cannot tell us now.

    Accounts equal to the configured one are not tried: the configured
    account being a default one is the finding itself. Nothing about the
    accounts tried is logged, and each is tried once (cameras lock an
    account after a few failures).
    """
    configured = (cfg.username, cfg.password.get_secret_value() if cfg.password else "")
    if cfg.username is not None and configured in {tuple(a) for a in accounts}:
        return True
    host = cfg.host.strip("[]")
    url = stream_url(host, cfg.rtsp_port, cfg.rtsp_path)
    conn = RtspConnection(host, cfg.rtsp_port, cfg.timeout_s, clock)
    try:
        conn.connect()
        return _try_accounts(conn, url, accounts)
    except (OSError, NoAnswer, BadResponse, ValueError):
        return None
    finally:
        conn.close()


def _try_accounts(conn: RtspConnection, url: str, accounts: list[tuple[str, str]]) -> bool | None:
    accept = {"Accept": "application/sdp"}
    answer = conn.request("DESCRIBE", url, accept)
    if answer.code == 200:
        return True
    for username, password in accounts:
        header = None
        if answer.code == 401:  # each try answers the challenge of the last refusal
            header = authorization(
                answer.all("www-authenticate"), username, password, "DESCRIBE", url
            )
        if header is None:
            return None
        answer = conn.request("DESCRIBE", url, {**accept, **header})
        if answer.code == 200:
            return True
    return False if answer.code in _DENIED else None


# --------------------------------------------------------------------------- ONVIF

_ONVIF_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">'
    b'<s:Body><GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/></s:Body>'
    b"</s:Envelope>"
)
_ONVIF_CONTENT_TYPE = (
    "application/soap+xml; charset=utf-8; "
    'action="http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime"'
)


def onvif_check(
    host: str, port: int, timeout_s: float, clock: Callable[[], float] = time.monotonic
) -> str | None:
    """None when the device service answers GetSystemDateAndTime, else why not.

    GetSystemDateAndTime needs no authentication (ONVIF Core), so it tells
    "the camera's management side is alive" without sending credentials.
    """
    deadline = clock() + timeout_s
    conn = http.client.HTTPConnection(host, port, timeout=timeout_s)
    try:
        conn.request(
            "POST",
            "/onvif/device_service",
            body=_ONVIF_BODY,
            headers={"Content-Type": _ONVIF_CONTENT_TYPE},
        )
        response = conn.getresponse()
        body = b""
        while len(body) < 65536 and clock() < deadline:
            chunk = response.read1(8192)
            if not chunk:
                break
            body += chunk
    except (OSError, http.client.HTTPException) as exc:
        return f"onvif :{port}: {_describe(exc)}"
    finally:
        conn.close()
    if response.status != 200:
        return f"onvif :{port}: GetSystemDateAndTime answered HTTP {response.status}"
    if b"GetSystemDateAndTimeResponse" not in body:
        return f"onvif :{port}: no GetSystemDateAndTimeResponse in the answer"
    return None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


# --------------------------------------------------------------------------- collectors


class CameraCollector(Collector):
    """Probes every configured camera (a few at a time) and reports them together.

    With ``proof`` (edge_agent.proof), each answering camera's reading also
    carries the check of a frame grabbed from its stream, and now and then
    whether the maker's default accounts still open it."""

    kind = TelemetryKind.CAMERA
    backend = "rtsp"

    def __init__(
        self,
        cameras: list[CameraConfig],
        max_parallel: int = 4,
        *,
        proof: Proof | None = None,
        default_accounts: list[tuple[str, str]] | None = None,
    ) -> None:
        self._cameras = list(cameras)
        self._max_parallel = max_parallel
        self._proof = proof
        self._accounts = list(default_accounts or [])
        if any(c.onvif_port for c in self._cameras):
            self.backend = "rtsp + onvif"
        if proof is not None:
            self.backend += " + ffmpeg frames"

    def collect(self) -> CameraData:
        if not self._cameras:
            raise NotPresent("no cameras configured")
        workers = min(self._max_parallel, len(self._cameras))
        with ThreadPoolExecutor(workers, thread_name_prefix="camera-probe") as pool:
            statuses = list(pool.map(self._check, self._cameras))
        return CameraData(cameras=statuses)

    def _check(self, cfg: CameraConfig) -> CameraStatus:
        status = probe_camera(cfg)
        proof = self._proof
        if proof is None:
            return status
        if status.rtsp_answered and self._accounts and proof.credentials_due(cfg.id):
            proof.remember_credentials(cfg.id, opens_with_default_account(cfg, self._accounts))
        return proof.camera(cfg, status)


class SimulatedCameraCollector(Collector):
    """The simulated board's cameras: answering ones are ok, silent ones time out."""

    kind = TelemetryKind.CAMERA
    backend = "simulated"

    def __init__(
        self, board: SimulatedBoard, now: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._board = board
        self._now = now
        self._same: dict[str, int] = {}  # readings in a row a frozen camera gave the same frame

    def collect(self) -> CameraData:
        board = self._board
        board.advance()
        statuses = []
        for camera_id, answering in board.cameras.items():
            if answering:
                latency = round(max(1.0, board.jitter(25.0, 10.0)), 1)
                statuses.append(
                    CameraStatus(
                        camera_id=camera_id,
                        reachable=True,
                        rtsp_answered=True,
                        status="ok",
                        latency_ms=latency,
                        picture=self._picture(camera_id),
                        firmware="simulated",
                        default_credentials=False,
                    )
                )
            else:
                statuses.append(
                    CameraStatus(
                        camera_id=camera_id,
                        reachable=False,
                        rtsp_answered=False,
                        status="timeout",
                        error="simulated: no TCP connection within 3s",
                    )
                )
        return CameraData(cameras=statuses)

    def _picture(self, camera_id: str) -> CameraPicture:
        """The check a real board would make of what the simulated camera sees."""
        board = self._board
        view = board.camera_views.get(camera_id, "ok")
        same = self._same.get(camera_id, 0) + 1 if view == "frozen" else 1
        self._same[camera_id] = same
        at = self._now().replace(microsecond=0)
        flat = view in ("black", "covered")
        seed = {"ok": camera_id, "frozen": camera_id, "moved": f"{camera_id}:elsewhere"}
        phash = "0000000000000000" if flat else _hash16(seed[view])
        return CameraPicture(
            captured_at=at,
            phash=phash,
            luma_mean=2.0 if view == "black" else round(board.jitter(120.0, 5.0), 1),
            luma_stddev=round(board.jitter(2.0, 1.0), 1)
            if flat
            else round(board.jitter(40.0, 3.0), 1),
            black=view == "black",
            frozen=view == "frozen" and same >= 5,
            same_count=same,
            covered=view == "covered",
            moved=view == "moved",
        )


def _hash16(seed: str) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:16]
