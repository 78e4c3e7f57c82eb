"""A real HTTP server on 127.0.0.1 standing in for Telegram, the SMS gateway
and Zalo: it records every request and answers like the real service —
success, rate limit (429), server failure (5xx), refusal (4xx) — as the test
scripts it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


Answer = Callable[[Request], Reply]


@dataclass
class Provider:
    """Answers with ``replies`` in turn, then with ``answer`` (the service's
    usual success), recording each request."""

    answer: Answer
    port: int = 0
    replies: list[Reply] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reply(self, request: Request) -> Reply:
        with self.lock:
            self.requests.append(request)
            if self.replies:
                return self.replies.pop(0)
        return self.answer(request)


def _handler(provider: Provider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            reply = provider.reply(
                Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
            self.send_response(reply.status)
            self.send_header("Content-Type", "application/json")
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Callable[[Answer], Provider]]:
    """``serve(answer)`` starts a provider; all are stopped after the test."""
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(answer: Answer) -> Provider:
        provider = Provider(answer)
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(provider))
        provider.port = server.server_address[1]
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        servers.append((server, thread))
        return provider

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join(5)


# -- how each real service answers a good request -----------------------------------


def telegram_ok(request: Request) -> Reply:
    sent = request.json()
    return Reply(200, {"ok": True, "result": {"message_id": 4711, "chat": {"id": sent["chat_id"]}}})


def sms_ok(request: Request) -> Reply:
    sent = request.json()
    return Reply(202, {"message_id": f"gw-{sent['request_id']}", "status": "accepted"})


def zalo_ok(request: Request) -> Reply:
    return Reply(200, {"error": 0, "message": "Success", "data": {"msg_id": "zns-1"}})


@pytest.fixture
def telegram(serve: Callable[[Answer], Provider]) -> Provider:
    return serve(telegram_ok)


@pytest.fixture
def sms_gateway(serve: Callable[[Answer], Provider]) -> Provider:
    return serve(sms_ok)


@pytest.fixture
def zalo(serve: Callable[[Answer], Provider]) -> Provider:
    return serve(zalo_ok)
