"""Display: the player's status file and endpoint, content hashing, process fallback, simulation."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from edge_agent.collectors.display import DisplayCollector, SimulatedDisplayCollector
from edge_agent.config import DisplayConfig
from edge_agent.errors import CollectorError, NotPresent
from edge_agent.simulation import SimulatedBoard, SimulatedContent
from fleet_protocol.messages import DisplayData
from tests.support.clock import Clock
from tests.support.ports import free_port

NOW = 1_800_000_000.0


@pytest.fixture
def media(tmp_path: Path) -> Path:
    path = tmp_path / "media" / "bien-gioi.mp4"
    path.parent.mkdir()
    path.write_bytes(os.urandom(3 * 1024 * 1024 + 17))  # more than one read chunk
    return path


def status(media: Path, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "screen_on": True,
        "player_running": True,
        "content_id": "tuyen-truyen-bien-gioi-2026-03",
        "content_kind": "propaganda",
        "content_path": str(media),
        "content_language": "vi",
        "started_at": "2026-03-02T07:55:00+07:00",
        "playlist_position": 3,  # the player's own key: ignored
    }
    values.update(changes)
    return values


def write_status(path: Path, values: dict[str, Any] | str, mtime: float = NOW - 5) -> Path:
    path.write_text(values if isinstance(values, str) else json.dumps(values))
    os.utime(path, (mtime, mtime))
    return path


def collector(status_file: Path | None, process_name: str | None = None) -> DisplayCollector:
    cfg = DisplayConfig(status_file=status_file, process_name=process_name)
    return DisplayCollector(cfg, max_age_s=120, clock=lambda: NOW)


# --------------------------------------------------------------------------- status file


def test_status_file_reading(tmp_path: Path, media: Path) -> None:
    path = write_status(tmp_path / "status.json", status(media))
    data = collector(path).collect()
    assert data == DisplayData(
        screen_on=True,
        player_running=True,
        content_id="tuyen-truyen-bien-gioi-2026-03",
        content_kind="propaganda",
        content_sha256=hashlib.sha256(media.read_bytes()).hexdigest(),
        content_language="vi",
        content_started_at=datetime(2026, 3, 2, 0, 55, tzinfo=UTC),
    )


def test_a_video_is_hashed_once_until_it_changes(tmp_path: Path, media: Path) -> None:
    path = write_status(tmp_path / "status.json", status(media))
    display = collector(path)
    first = display.collect().content_sha256
    assert display.collect().content_sha256 == first
    assert display.hasher.computed == 1

    stat = media.stat()
    media.write_bytes(b"x" * stat.st_size)  # same size, new bytes, new mtime
    os.utime(media, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = display.collect().content_sha256
    assert changed == hashlib.sha256(media.read_bytes()).hexdigest() != first
    assert display.hasher.computed == 2

    other = media.with_name("quang-cao.mp4")
    other.write_bytes(b"ad")
    write_status(path, status(other, content_kind="advertising"))
    display.collect()
    write_status(path, status(media))
    assert display.collect().content_sha256 == changed  # back to the first file: cached
    assert display.hasher.computed == 3


def test_missing_content_file_gives_no_hash(tmp_path: Path) -> None:
    path = write_status(tmp_path / "status.json", status(tmp_path / "gone.mp4"))
    data = collector(path).collect()
    assert (data.content_id, data.content_sha256) == ("tuyen-truyen-bien-gioi-2026-03", None)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid"),
        ('["a list"]', "is not valid"),
        (json.dumps({"content_kind": "news"}), "is not valid"),
        (json.dumps({"screen_on": "maybe"}), "is not valid"),
        (json.dumps({"started_at": "2026-03-02T07:55:00"}), "started_at has no timezone"),
    ],
    ids=["garbage", "list", "unknown-kind", "bad-type", "naive-time"],
)
def test_bad_status_file_names_the_file(tmp_path: Path, content: str, problem: str) -> None:
    path = write_status(tmp_path / "status.json", content)
    with pytest.raises(CollectorError, match=problem) as caught:
        collector(path).collect()
    assert str(path) in str(caught.value)


def test_stale_status_file(tmp_path: Path, media: Path) -> None:
    path = write_status(tmp_path / "status.json", status(media), mtime=NOW - 600)
    with pytest.raises(CollectorError, match="stale: last written 600s ago") as caught:
        collector(path, process_name="signage-player").collect()
    assert str(path) in str(caught.value)


def test_unreadable_status_file(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    path.mkdir()  # a directory where the file should be: EISDIR for anyone, root included
    with pytest.raises(CollectorError, match="unreadable") as caught:
        collector(path).collect()
    assert str(path) in str(caught.value)


def test_missing_status_file_without_process_check(tmp_path: Path) -> None:
    path = tmp_path / "status.json"
    with pytest.raises(CollectorError, match="does not exist") as caught:
        collector(path).collect()
    assert str(path) in str(caught.value)


# --------------------------------------------------------------------------- process fallback


@pytest.fixture
def player(tmp_path: Path) -> Iterator[str]:
    """A live process with a name no other process on this machine has."""
    name = f"player-{uuid.uuid4().hex[:8]}"
    sleep = shutil.which("sleep")
    assert sleep is not None
    shutil.copy(sleep, tmp_path / name)
    proc = subprocess.Popen([str(tmp_path / name), "300"])
    yield name
    proc.kill()
    proc.wait()


def test_missing_status_file_falls_back_to_the_process(tmp_path: Path, player: str) -> None:
    path = tmp_path / "status.json"
    assert collector(path, process_name=player).collect() == DisplayData(player_running=True)
    gone = f"{player}-gone"
    assert collector(path, process_name=gone).collect() == DisplayData(player_running=False)


def test_process_only(player: str) -> None:
    display = collector(None, process_name=player)
    assert display.backend == f"process {player}"
    assert display.collect().player_running is True


def test_nothing_configured_is_not_present() -> None:
    with pytest.raises(NotPresent):
        collector(None, process_name=None).collect()


def test_status_without_player_running_asks_the_process(tmp_path: Path, player: str) -> None:
    path = write_status(tmp_path / "status.json", {"screen_on": False})
    assert collector(path, process_name=player).collect() == DisplayData(
        screen_on=False, player_running=True
    )


# --------------------------------------------------------------------------- status URL


class _StatusHandler(BaseHTTPRequestHandler):
    answer: tuple[int, bytes] = (200, b"{}")

    def do_GET(self) -> None:
        code, body = self.server.answer  # type: ignore[attr-defined]
        self.server.authorization = self.headers.get("Authorization")  # type: ignore[attr-defined]
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def status_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_collector(url: str, process_name: str | None = None) -> DisplayCollector:
    cfg = DisplayConfig(status_file=None, status_url=url, process_name=process_name)
    return DisplayCollector(cfg, timeout_s=2.0)


def test_status_url(status_server: ThreadingHTTPServer, media: Path) -> None:
    body = json.dumps(status(media, content_kind="emergency", content_language="VI")).encode()
    status_server.answer = (200, body)  # type: ignore[attr-defined]
    port = status_server.server_address[1]
    data = url_collector(f"http://127.0.0.1:{port}/status").collect()
    assert (data.content_kind, data.content_language, data.player_running) == (
        "emergency",
        "vi",
        True,
    )
    assert data.content_sha256 == hashlib.sha256(media.read_bytes()).hexdigest()


def test_status_url_error_is_redacted(status_server: ThreadingHTTPServer) -> None:
    status_server.answer = (500, b"oops")  # type: ignore[attr-defined]
    port = status_server.server_address[1]
    display = url_collector(f"http://player:s3cret@127.0.0.1:{port}/status")
    assert "s3cret" not in display.backend
    with pytest.raises(CollectorError, match="answered HTTP 500") as caught:
        display.collect()
    assert "s3cret" not in str(caught.value)
    assert status_server.authorization == "Basic cGxheWVyOnMzY3JldA=="  # type: ignore[attr-defined]


def test_status_url_refused_falls_back_to_the_process(player: str) -> None:
    url = f"http://127.0.0.1:{free_port()}/status"
    assert url_collector(url, process_name=player).collect().player_running is True
    with pytest.raises(CollectorError, match="refuses connections"):
        url_collector(url).collect()


# --------------------------------------------------------------------------- simulated


def test_simulated_display_follows_the_board() -> None:
    clock = Clock(datetime(2026, 3, 2, 0, 55, tzinfo=UTC))
    board = SimulatedBoard(clock=clock.monotonic)
    display = SimulatedDisplayCollector(board, now=clock)

    on_air = display.collect()
    assert (on_air.screen_on, on_air.player_running, on_air.content_kind) == (
        True,
        True,
        "propaganda",
    )
    assert on_air.content_sha256 == board.content.sha256
    assert on_air.content_started_at == clock.now

    clock.advance(timedelta(minutes=5))
    assert display.collect().content_started_at == on_air.content_started_at  # same item

    board.content = SimulatedContent(content_id="canh-bao-lu-quet", kind="emergency")
    emergency = display.collect()
    assert (emergency.content_kind, emergency.content_started_at) == ("emergency", clock.now)

    board.screen_on = False
    board.player_running = False
    dark = display.collect()
    assert dark.model_copy(update={"screen": None}) == DisplayData(
        screen_on=False, player_running=False
    )
    assert dark.screen is not None
    assert dark.screen.black  # screen proof: what a real board would see
