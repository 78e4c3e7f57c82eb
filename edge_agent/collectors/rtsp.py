"""The few pieces of RTSP (RFC 2326) and HTTP authentication (RFC 2617) the camera probe needs.

A blocking socket with a deadline per answer: the probe must never hang on a
camera that accepts TCP and then says nothing, or drips bytes forever.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from edge_agent import __version__

USER_AGENT = f"laichau-fleet-agent/{__version__}"
MAX_HEADER = 64 * 1024
MAX_BODY = 1024 * 1024

_STATUS_LINE = re.compile(rb"RTSP/1\.\d (\d{3})(?: (.*))?$")


class BadResponse(Exception):
    """The peer answered something that is not RTSP, or closed without answering."""


class NoAnswer(Exception):
    """Nothing (complete) came back before the deadline."""


class _Closed(Exception):
    """The peer closed the connection before sending a byte of this answer."""


@dataclass
class RtspResponse:
    code: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)  # names lower-cased
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name.lower()]


def _printable(data: bytes) -> str:
    text = data[:40].decode("latin-1")
    return "".join(c if c.isprintable() else "." for c in text)


class RtspConnection:
    """One TCP connection to an RTSP server, reopened once if the server closes it."""

    def __init__(
        self,
        host: str,
        port: int,
        timeout_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._address = (host, port)
        self._timeout_s = timeout_s
        self._clock = clock
        self._sock: socket.socket | None = None
        self._buf = b""
        self._cseq = 0
        self._answers = 0
        self._sent_at: float | None = None
        self._first_at: float | None = None

    @property
    def first_answer_ms(self) -> float | None:
        """Time from sending the first request to the first byte of its answer."""
        if self._sent_at is None or self._first_at is None:
            return None
        return round(max(0.0, self._first_at - self._sent_at) * 1000.0, 2)

    def connect(self) -> None:
        self.close()
        self._sock = socket.create_connection(self._address, timeout=self._timeout_s)
        self._buf = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def request(
        self, method: str, url: str, headers: Mapping[str, str] | None = None
    ) -> RtspResponse:
        try:
            return self._exchange(method, url, headers or {})
        except _Closed:
            if not self._answers:
                raise BadResponse("connection closed before an RTSP answer") from None
        # Some cameras close after each answer (or after a 401): ask again once.
        self.connect()
        try:
            return self._exchange(method, url, headers or {})
        except _Closed:
            raise BadResponse(f"connection closed before answering {method}") from None

    def _exchange(self, method: str, url: str, headers: Mapping[str, str]) -> RtspResponse:
        if self._sock is None:
            self.connect()
        assert self._sock is not None
        self._cseq += 1
        lines = [f"{method} {url} RTSP/1.0", f"CSeq: {self._cseq}", f"User-Agent: {USER_AGENT}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self._sent_at is None:
            self._sent_at = self._clock()
        try:
            self._sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        except (BrokenPipeError, ConnectionResetError):
            raise _Closed from None
        response = self._read_response()
        self._answers += 1
        return response

    def _read_response(self) -> RtspResponse:
        deadline = self._clock() + self._timeout_s
        while b"\r\n\r\n" not in self._buf:
            start = self._buf[:5]
            if start and not b"RTSP/".startswith(start):
                raise BadResponse(f"not an RTSP answer: {_printable(self._buf)!r}")
            if len(self._buf) > MAX_HEADER:
                raise BadResponse("RTSP header larger than 64 KiB")
            chunk = self._recv(deadline)
            if not chunk:
                if not self._buf:
                    raise _Closed
                raise BadResponse("connection closed in the middle of an answer")
            if self._first_at is None:
                self._first_at = self._clock()
            self._buf += chunk
        head, _, rest = self._buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        status = _STATUS_LINE.match(lines[0])
        if status is None:
            raise BadResponse(f"not an RTSP status line: {_printable(lines[0])!r}")
        headers = []
        for line in lines[1:]:
            name, sep, value = line.decode("latin-1").partition(":")
            if sep:
                headers.append((name.strip().lower(), value.strip()))
        response = RtspResponse(int(status.group(1)), (status.group(2) or b"").decode("latin-1"))
        response.headers = headers
        length = self._content_length(response)
        while len(rest) < length:
            chunk = self._recv(deadline)
            if not chunk:
                raise BadResponse("connection closed in the middle of an answer body")
            rest += chunk
        response.body, self._buf = rest[:length], rest[length:]
        return response

    @staticmethod
    def _content_length(response: RtspResponse) -> int:
        value = response.header("content-length") or "0"
        if not value.isdigit() or int(value) > MAX_BODY:
            raise BadResponse(f"unusable Content-Length {value[:20]!r}")
        return int(value)

    def _recv(self, deadline: float) -> bytes:
        assert self._sock is not None
        remaining = deadline - self._clock()
        if remaining <= 0:
            raise NoAnswer(f"no complete answer within {self._timeout_s:g}s")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv(65536)
        except TimeoutError:
            raise NoAnswer(f"no complete answer within {self._timeout_s:g}s") from None
        except ConnectionResetError:
            return b""


# --------------------------------------------------------------------------- authentication

_ITEM = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*")+')
_SCHEME_WITH_PARAM = re.compile(r"([A-Za-z][\w-]*)\s+([\w-]+\s*=.*)$", re.DOTALL)
_PARAM = re.compile(r'([\w-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s,]*)', re.DOTALL)


def parse_challenges(value: str) -> list[tuple[str, dict[str, str]]]:
    """``Digest realm="x", nonce="y", Basic realm="x"`` → [("digest", {...}), ("basic", {...})]."""
    challenges: list[tuple[str, dict[str, str]]] = []
    for match in _ITEM.finditer(value):
        item = match.group(0).strip()
        if not item:
            continue
        new = _SCHEME_WITH_PARAM.match(item)
        if new:
            challenges.append((new.group(1).lower(), {}))
            item = new.group(2)
        elif re.fullmatch(r"[A-Za-z][\w-]*", item):
            challenges.append((item.lower(), {}))
            continue
        param = _PARAM.match(item)
        if param and challenges:
            raw = param.group(2)
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            challenges[-1][1][param.group(1).lower()] = raw
    return challenges


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def digest_response(
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    *,
    nonce: str,
    qop: str | None = None,
    nc: str = "00000001",
    cnonce: str = "",
    algorithm: str = "MD5",
) -> str:
    """The ``response`` value of RFC 2617 §3.2.2 (MD5 and MD5-sess; qop auth/auth-int)."""
    ha1 = _md5(f"{username}:{realm}:{password}")
    if algorithm.lower() == "md5-sess":
        ha1 = _md5(f"{ha1}:{nonce}:{cnonce}")
    ha2 = _md5(f"{method}:{uri}")
    if qop == "auth-int":  # requests we send carry no body
        ha2 = _md5(f"{method}:{uri}:{_md5('')}")
    if qop:
        return _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _md5(f"{ha1}:{nonce}:{ha2}")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def authorization(
    challenges: list[str],
    username: str,
    password: str,
    method: str,
    uri: str,
    *,
    cnonce: Callable[[], str] = lambda: secrets.token_hex(8),
) -> dict[str, str] | None:
    """An ``Authorization`` header answering the best challenge offered (Digest over Basic)."""
    offered = [c for value in challenges for c in parse_challenges(value)]
    for scheme, params in offered:
        algorithm = params.get("algorithm", "MD5")
        if scheme != "digest" or algorithm.lower() not in ("md5", "md5-sess"):
            continue
        qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
        qop = "auth" if "auth" in qops else "auth-int" if "auth-int" in qops else None
        client_nonce = cnonce() if qop or algorithm.lower() == "md5-sess" else ""
        realm, nonce = params.get("realm", ""), params.get("nonce", "")
        response = digest_response(
            username,
            realm,
            password,
            method,
            uri,
            nonce=nonce,
            qop=qop,
            cnonce=client_nonce,
            algorithm=algorithm,
        )
        parts = [
            f"username={_quote(username)}",
            f"realm={_quote(realm)}",
            f"nonce={_quote(nonce)}",
            f"uri={_quote(uri)}",
            f"response={_quote(response)}",
        ]
        if "algorithm" in params:
            parts.append(f"algorithm={algorithm}")
        if "opaque" in params:
            parts.append(f"opaque={_quote(params['opaque'])}")
        if qop:
            parts += [f"qop={qop}", "nc=00000001", f"cnonce={_quote(client_nonce)}"]
        return {"Authorization": "Digest " + ", ".join(parts)}
    if any(scheme == "basic" for scheme, _ in offered):
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return None
