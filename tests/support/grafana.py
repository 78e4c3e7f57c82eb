"""A stand-in for Grafana's HTTP API: a real HTTP server on 127.0.0.1 that
implements the folder, data source and dashboard calls ``dashboards push``
makes, keeps what it is sent, and records every request.

It answers as Grafana does where the push depends on it: 401 for a wrong
token, 404 for an unknown uid, 409 for a second data source of the same name,
412 for a dashboard saved over another without ``overwrite``, ``readOnly``
data sources and ``provisioned`` dashboards that refuse changes.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class GrafanaState:
    token: str
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r.method != "GET"]


Answer = tuple[int, Any]


def _folder_routes(  # noqa: PLR0911 - one return per answer, as in a router
    state: GrafanaState, method: str, path: str, body: Any
) -> Answer | None:
    if method == "POST" and path == "/api/folders":
        uid = body.get("uid")
        if uid in state.folders:
            return 409, {"message": "a folder with the same uid already exists"}
        state.folders[uid] = {
            "id": state.new_id(),
            "uid": uid,
            "title": body["title"],
            "version": 1,
        }
        return 200, state.folders[uid]
    match = re.fullmatch(r"/api/folders/([^/]+)", path)
    if not match:
        return None
    folder = state.folders.get(match[1])
    if folder is None:
        return 404, {"message": "folder not found"}
    if method == "GET":
        return 200, folder
    if method == "PUT":
        if not body.get("overwrite") and body.get("version") != folder["version"]:
            return 412, {"message": "the folder has been changed by someone else"}
        folder.update(title=body["title"], version=folder["version"] + 1)
        return 200, folder
    return None


def _datasource_routes(  # noqa: PLR0911
    state: GrafanaState, method: str, path: str, body: Any
) -> Answer | None:
    if method == "POST" and path == "/api/datasources":
        if any(d["name"] == body["name"] for d in state.datasources.values()):
            return 409, {"message": "data source with the same name already exists"}
        uid = body.get("uid") or f"generated-{state.next_id}"
        state.datasources[uid] = {**body, "uid": uid, "id": state.new_id(), "readOnly": False}
        return 200, {"datasource": state.datasources[uid], "message": "Datasource added"}
    match = re.fullmatch(r"/api/datasources/uid/([^/]+)", path)
    if not match:
        return None
    current = state.datasources.get(match[1])
    if current is None:
        return 404, {"message": "Data source not found"}
    if method == "GET":
        # Grafana never hands secrets back; it says which ones are set.
        shown = {k: v for k, v in current.items() if k != "secureJsonData"}
        shown["secureJsonFields"] = dict.fromkeys(current.get("secureJsonData") or {}, True)
        return 200, shown
    if method == "PUT":
        if current["readOnly"]:
            return 403, {"message": "Cannot modify read-only data source"}
        state.datasources[match[1]] = {**body, "id": current["id"], "readOnly": False}
        return 200, {"datasource": state.datasources[match[1]], "message": "Datasource updated"}
    return None


def _dashboard_routes(state: GrafanaState, method: str, path: str, body: Any) -> Answer | None:
    if method == "POST" and path == "/api/dashboards/db":
        model = dict(body["dashboard"])
        uid = str(model.get("uid"))
        folder_uid = body.get("folderUid", "")
        if folder_uid and folder_uid not in state.folders:
            return 400, {"message": "folder not found"}
        current = state.dashboards.get(uid)
        if current is not None:
            if current["meta"]["provisioned"]:
                return 400, {"message": "Cannot save provisioned dashboard"}
            if not body.get("overwrite"):
                return 412, {"message": "A dashboard with the same uid already exists"}
        version = 1 if current is None else current["dashboard"]["version"] + 1
        model.update(id=current["dashboard"]["id"] if current else state.new_id(), version=version)
        meta = {"folderUid": folder_uid, "provisioned": False}
        state.dashboards[uid] = {"dashboard": model, "meta": meta}
        return 200, {"status": "success", "uid": uid, "version": version, "id": model["id"]}
    match = re.fullmatch(r"/api/dashboards/uid/([^/]+)", path)
    if method == "GET" and match:
        found = state.dashboards.get(match[1])
        return (200, found) if found else (404, {"message": "Dashboard not found"})
    return None


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the test reads state.requests instead

    def _handle(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else None
        auth = self.headers.get("Authorization")
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            state.requests.append(Request(self.command, path, body, auth))
            status, payload = self._answer(state, path, body, auth)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, state: GrafanaState, path: str, body: Any, auth: str | None) -> Answer:
        if path == "/api/health":
            return 200, {"database": "ok", "version": "11.6.0"}
        if auth != f"Bearer {state.token}":
            return 401, {"message": "Invalid API key"}
        for routes in (_folder_routes, _datasource_routes, _dashboard_routes):
            answer = routes(state, self.command, path, body)
            if answer is not None:
                return answer
        return 404, {"message": "Not found"}

    do_GET = do_POST = do_PUT = do_DELETE = _handle  # noqa: N815 - stdlib's names


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: GrafanaState) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state
        self.lock = threading.Lock()


class FakeGrafana:
    """``with FakeGrafana(token) as grafana: ... grafana.url, grafana.state``"""

    def __init__(self, token: str) -> None:
        self.state = GrafanaState(token=token)
        self._server = _Server(self.state)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeGrafana:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class _PageHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _handle(self) -> None:
        data = b"<html><body>Welcome to nginx!</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = _handle  # noqa: N815 - stdlib's names


class WebPage:
    """Something else at the URL: every request gets a 200 HTML page."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> str:
        self._thread.start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *_exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
